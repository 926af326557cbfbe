import fs from "node:fs";
import path from "node:path";

import { expect, test } from "./fixtures";
import { databaseSnapshot, demoDatabase, demoLibrary, folderDigest, withDemoDatabase } from "./helpers/demo-databases";

test("an administrator creates a backup in dev, watches it complete and restores it into uat", async ({ signInPage, backupsPage, activityPage, page }) => {
  test.setTimeout(120_000);
  await signInPage.signIn("Ada Admin", "/projects/acme/dev/backups");
  // The demo's own sources: dev's and uat's databases and document libraries, as the seed made them.
  const devLibrary = demoLibrary("dev");
  const uatLibrary = demoLibrary("uat");

  // Create the backup from the page and watch it complete.
  const backupId = await backupsPage.createAndWaitUntilCompleted();
  const devTables = await databaseSnapshot(demoDatabase("dev"));
  const devFiles = folderDigest(devLibrary);
  // What a restore must undo in uat, whatever an earlier restore left there.
  await withDemoDatabase(demoDatabase("uat"), async (sql) => {
    await sql`delete from public.journalarticle where id_ % 20 = 0`;
    await sql`create table public.stale_only (id int)`;
  });
  fs.writeFileSync(path.join(uatLibrary, "stale.txt"), "from before the restore\n");
  expect(await databaseSnapshot(demoDatabase("uat"))).not.toEqual(devTables);

  // Production asks for its name to be typed; the button stays disabled until it is.
  await backupsPage.choose(backupId, "Restore…");
  const dialog = backupsPage.restoreDialog;
  await expect(dialog).toBeVisible();
  await dialog.getByLabel("Restore into").selectOption({ label: "acme-prd (Live site) — production" });
  const restorePrd = dialog.getByRole("button", { name: "Restore into acme-prd" });
  await expect(restorePrd).toBeDisabled();
  await dialog.getByLabel("Type prd to confirm").fill("pr");
  await expect(restorePrd).toBeDisabled();
  await dialog.getByLabel("Type prd to confirm").fill("prd");
  await expect(restorePrd).toBeEnabled();

  // Into uat: the confirmation is the dialog itself.
  await dialog.getByLabel("Restore into").selectOption({ label: "acme-uat (User acceptance)" });
  await dialog.getByRole("button", { name: "Restore into acme-uat" }).click();
  await expect(dialog.getByRole("status")).toContainText("The restore into acme-uat is queued");
  await dialog.getByRole("link", { name: "Go to acme-uat" }).click();
  await expect(page).toHaveURL(/\/projects\/acme\/uat\/backups/);

  const restore = backupsPage.restore(backupId);
  await expect(restore).toContainText("Restored", { timeout: 90_000 });

  // uat now holds exactly dev's data and files, and dev is as it was.
  expect(await databaseSnapshot(demoDatabase("uat"))).toEqual(devTables);
  expect(folderDigest(uatLibrary)).toEqual(devFiles);
  expect(await databaseSnapshot(demoDatabase("dev"))).toEqual(devTables);

  await backupsPage.activityLink.click();
  await expect(activityPage.entries(backupId, "Restored a backup")).toBeVisible();
  await expect(activityPage.entries(backupId, "Asked for a restore")).toBeVisible();
});
