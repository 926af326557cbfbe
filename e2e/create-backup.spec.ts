import fs from "node:fs";
import zlib from "node:zlib";

import { expect, test } from "./fixtures";
import { demoDatabase, withDemoDatabase } from "./helpers/demo-databases";

test("an administrator creates a backup of dev's real database and watches it complete", async ({ signInPage, backupsPage, page }, testInfo) => {
  // The embedded default's demo gives dev a PostgreSQL database of its own: nothing to configure first.
  await signInPage.signIn("Ada Admin", "/projects/acme/dev/backups");
  await backupsPage.createButton.click();
  const queued = backupsPage.queued();
  await expect(queued).toBeVisible();
  const backupId = await backupsPage.backupIdIn(queued);
  const row = backupsPage.row(backupId);
  await expect(row).toContainText("Manual");
  await expect(row).toContainText("Completed", { timeout: 60_000 });

  // The dump restores: every row of the live database is in it.
  const response = await page.request.get(`/backup/download/database/${backupId}`);
  expect(response.status()).toBe(200);
  const dump = testInfo.outputPath("database.gz");
  fs.writeFileSync(dump, await response.body());
  const sql = zlib.gunzipSync(fs.readFileSync(dump)).toString("utf8");
  expect(sql).toContain("CREATE TABLE public.user_");
  const live = await withDemoDatabase(demoDatabase("dev"), async (db) => {
    const [articles] = await db<{ n: number }[]>`select count(*)::int as n from public.journalarticle`;
    const [user] = await db<{ screenname: string; emailaddress: string }[]>`select screenname, emailaddress from public.user_ order by userid desc limit 1`;
    return { articles: articles!.n, user: user! };
  });
  expect(live.articles).toBeGreaterThan(1_000);
  const copied = sql.split("COPY public.journalarticle (")[1]!.split("\n\\.\n")[0]!.split("\n").length - 1;
  expect(copied).toBe(live.articles);
  expect(sql).toContain(`\t${live.user.screenname}\t${live.user.emailaddress}\t`);
});
