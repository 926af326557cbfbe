import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";

import { x as extractTar } from "tar";

import { expect, test } from "./fixtures";
import { demoDatabase, demoLibrary, folderDigest, withDemoDatabase } from "./helpers/demo-databases";

/*
 * The README's first steps on the embedded default, exactly as
 * playwright.config.ts starts it (a fresh data folder, nothing configured):
 * Create backup on dev, watch it complete, restore it into uat, download both
 * files and find the demo's documents in volume.tgz.
 */

test("with nothing configured, an administrator backs up dev, restores it into uat and downloads both files", async ({
  signInPage,
  settingsPage,
  backupsPage,
  page,
}, testInfo) => {
  test.setTimeout(120_000);
  await signInPage.signIn("Ada Admin", "/projects/acme/dev/settings");
  // The demo's own sources, set by the seed: the Settings page says they are ready and that they are demo data.
  await expect(settingsPage.readiness.getByRole("status")).toHaveText("Ready: Create backup and Restore… can run now.");
  await expect(page.getByText(/^Demo data: the database .*_dev on .* and the document library .*acme-dev\/document_library/)).toBeVisible();
  const devLibrary = demoLibrary("dev");

  await settingsPage.backupsLink.click();
  await expect(backupsPage.beforeCreateNote).toHaveCount(0);
  const backupId = await backupsPage.createAndWaitUntilCompleted();

  await backupsPage.choose(backupId, "Restore…");
  const dialog = backupsPage.restoreDialog;
  await dialog.getByLabel("Restore into").selectOption({ label: "acme-uat (User acceptance)" });
  await dialog.getByRole("button", { name: "Restore into acme-uat" }).click();
  await expect(dialog.getByRole("status")).toContainText("The restore into acme-uat is queued");
  await dialog.getByRole("link", { name: "Go to acme-uat" }).click();
  await expect(page).toHaveURL(/\/projects\/acme\/uat\/backups/);
  await expect(backupsPage.restore(backupId)).toContainText("Restored", {
    timeout: 90_000,
  });
  // uat's database is dev's portal now.
  const [company] = await withDemoDatabase(demoDatabase("uat"), (sql) => sql<{ webid: string }[]>`select webid from public.company`);
  expect(company?.webid).toBe("dev.acme.com");

  // Both files, from the Actions menu of the backup (uat's page lists dev's backups under dev).
  await backupsPage.goto("dev");
  const databaseFile = testInfo.outputPath("database.gz");
  await (await backupsPage.download(backupId, "Database (.gz)")).saveAs(databaseFile);
  const dump = zlib.gunzipSync(fs.readFileSync(databaseFile)).toString("utf8");
  expect(dump).toContain("CREATE TABLE public.journalarticle");
  expect(dump).toMatch(/COPY public\.dlfileentry \(/);

  const volumeFile = testInfo.outputPath("volume.tgz");
  await (await backupsPage.download(backupId, "Liferay (.tgz)")).saveAs(volumeFile);
  const extracted = testInfo.outputPath("extracted");
  fs.mkdirSync(extracted);
  await extractTar({ file: volumeFile, cwd: extracted, strict: true });
  expect(fs.readdirSync(extracted)).toEqual(["document_library"]);
  // Exactly the demo's generated document library, file for file and byte for byte.
  const documents = folderDigest(path.join(extracted, "document_library"));
  expect(Object.keys(documents).length).toBeGreaterThan(5);
  expect(documents).toEqual(folderDigest(devLibrary));
  const texts = Object.keys(documents).map((file) => fs.readFileSync(path.join(extracted, "document_library", file)));
  expect(texts.some((bytes) => bytes.toString("utf8").startsWith("Welcome to the dev.acme.com intranet."))).toBe(true);
});
