import fs from "node:fs";
import path from "node:path";

import type { Page } from "@playwright/test";

import { expect, test } from "./fixtures";
import { sha256File, writeDatabaseGz, writeEscapingTgz, writeTruncatedGz, writeVolumeTgz } from "./helpers/backup-files";

async function rowCount(page: Page) {
  const response = await page.request.get("/api/v1/projects/acme/environments/dev/backups?limit=100");
  return (await response.json()).count as number;
}

test.describe("Upload Backup", () => {
  test("uploads a database and a document library, then the backup can be downloaded again", async ({
    signInPage,
    backupsPage,
    uploadPage,
    page,
  }, testInfo) => {
    const dir = testInfo.outputPath("files");
    fs.mkdirSync(dir, { recursive: true });
    const database = writeDatabaseGz(dir, 20_000);
    const volume = writeVolumeTgz(dir, 40 * 1024); // 40 MiB of incompressible data: two 32 MiB parts

    await signInPage.signIn("Ada Admin", "/projects/acme/uat/backups");
    // The list has loaded (how many backups uat holds depends on the specs before this one).
    await expect(backupsPage.firstRow()).toBeVisible();
    const section = await uploadPage.openFromBackups("uat");

    const initiate = section.initiateButton;
    await expect(initiate).toBeDisabled();
    await section.databaseFile.setInputFiles(database);
    await expect(section.region).toContainText(/database\.gz · \d/);
    await expect(initiate).toBeDisabled();
    await section.volumeFile.setInputFiles(volume);
    await expect(initiate).toBeEnabled();
    await initiate.click();

    await expect(section.progress("volume.tgz")).toBeVisible();
    const success = section.success;
    await expect(success).toBeVisible({ timeout: 30_000 });
    await expect(section.progress("volume.tgz")).toHaveAttribute("aria-valuenow", "100");
    const backupId = await backupsPage.backupIdIn(success);
    expect(backupId).toMatch(/^acme-[a-z]+-\d{12}$/);

    await success.getByRole("link", { name: "See it in the Backups list" }).click();
    const row = backupsPage.row(backupId);
    await expect(row).toContainText("Uploaded");
    await expect(row).toContainText("Completed");

    // The bytes that come back are the bytes that went up.
    for (const [kind, file] of [
      ["database", database],
      ["volume", volume],
    ] as const) {
      const response = await page.request.get(`/backup/download/${kind}/${backupId}`);
      expect(response.status()).toBe(200);
      const saved = path.join(dir, `back-${kind}`);
      fs.writeFileSync(saved, await response.body());
      expect(sha256File(saved)).toBe(sha256File(file));
    }
  });

  test("the slots refuse what cannot be a backup before anything is sent", async ({ signInPage, uploadPage }, testInfo) => {
    const dir = testInfo.outputPath("files");
    fs.mkdirSync(dir, { recursive: true });
    const notGzip = path.join(dir, "dump.gz");
    fs.writeFileSync(notGzip, "CREATE TABLE user_ (id int);\n");
    const wrongName = path.join(dir, "database.sql");
    fs.writeFileSync(wrongName, "x");

    await signInPage.signIn("Ada Admin", "/projects/acme/dev/backups");
    const section = await uploadPage.openFromBackups("dev");
    await section.databaseFile.setInputFiles(wrongName);
    await expect(section.region.getByRole("alert")).toContainText("database.sql cannot be the database file");
    await section.databaseFile.setInputFiles(notGzip);
    await expect(section.region.getByRole("alert")).toContainText("dump.gz is not gzip-compressed");
    await section.volumeFile.setInputFiles(writeDatabaseGz(dir, 10));
    await expect(section.region.getByRole("alert").filter({ hasText: "database.gz cannot be the document library file" })).toBeVisible();
    await expect(section.initiateButton).toBeDisabled();
  });

  for (const bad of [
    { name: "a truncated database.gz", make: (dir: string) => ({ database: writeTruncatedGz(dir), volume: writeVolumeTgz(dir, 4) }), reason: /gzip/i },
    { name: "a .tgz with a ../ entry", make: (dir: string) => ({ database: writeDatabaseGz(dir, 10), volume: writeEscapingTgz(dir) }), reason: /\.\./ },
  ]) {
    test(`refuses ${bad.name} with a visible reason and leaves no backup`, async ({ signInPage, uploadPage, page }, testInfo) => {
      const dir = testInfo.outputPath("files");
      fs.mkdirSync(dir, { recursive: true });
      const files = bad.make(dir);
      await signInPage.signIn("Ada Admin", "/projects/acme/dev/backups");
      const before = await rowCount(page);
      const section = await uploadPage.openFromBackups("dev");
      await section.upload(files.database, files.volume);
      const alert = section.failure;
      await expect(alert).toBeVisible({ timeout: 30_000 });
      await expect(alert).toContainText(bad.reason);
      expect(await rowCount(page)).toBe(before);
    });
  }

  test("a member cannot upload", async ({ signInPage, backupsPage, uploadPage, page }) => {
    await signInPage.signIn("Max Member", "/projects/acme/uat/backups");
    await expect(backupsPage.uploadLink).toHaveCount(0);
    await uploadPage.goto("uat");
    await expect(uploadPage.section("uat").region).toContainText("Only administrators of acme-uat can upload backups");
    const response = await page.request.post("/api/v1/projects/acme/environments/uat/uploads", {
      headers: { origin: new URL(page.url()).origin },
      data: { database: { fileName: "database.gz", size: 10 }, volume: { fileName: "volume.tgz", size: 10 } },
    });
    expect(response.status()).toBe(403);
    expect((await response.json()).error.message).toMatch(/administrators of acme-uat/);
  });
});
