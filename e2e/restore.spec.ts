import fs from "node:fs";
import path from "node:path";

import { expect, test } from "./fixtures";
import { databaseSnapshot, demoDatabase, demoLibrary, folderDigest, withDemoDatabase } from "./helpers/demo-databases";

test("an administrator creates a backup in dev, watches it complete and restores it into uat", async ({ consolePage, page }) => {
  test.setTimeout(120_000);
  await consolePage.signIn("Ada Admin", "/projects/acme/dev/backups");
  // The demo's own sources: dev's and uat's databases and document libraries, as the seed made them.
  const devLibrary = demoLibrary("dev");
  const uatLibrary = demoLibrary("uat");

  // Create the backup from the page and watch it complete.
  await page.getByRole("button", { name: "Create backup" }).click();
  const queued = page.getByRole("status").filter({ hasText: "is queued" });
  await expect(queued).toBeVisible();
  const backupId = (await queued.locator(".font-mono").textContent())!.trim();
  const row = page.getByRole("row").filter({ hasText: backupId });
  await expect(row).toContainText("Completed", { timeout: 60_000 });
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
  await row.getByRole("button", { name: `Actions for ${backupId}` }).click();
  await page.getByRole("menuitem", { name: "Restore…" }).click();
  const dialog = page.getByRole("dialog", { name: "Restore backup" });
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

  const restores = page.getByRole("list", { name: "Restores" });
  const restore = restores.getByRole("listitem").filter({ hasText: backupId });
  await expect(restore).toContainText("Restored", { timeout: 90_000 });

  // uat now holds exactly dev's data and files, and dev is as it was.
  expect(await databaseSnapshot(demoDatabase("uat"))).toEqual(devTables);
  expect(folderDigest(uatLibrary)).toEqual(devFiles);
  expect(await databaseSnapshot(demoDatabase("dev"))).toEqual(devTables);

  await page.getByRole("link", { name: "Activity" }).click();
  const activity = page.getByRole("row").filter({ hasText: backupId });
  await expect(activity.filter({ hasText: "Restored a backup" })).toBeVisible();
  await expect(activity.filter({ hasText: "Asked for a restore" })).toBeVisible();
});
