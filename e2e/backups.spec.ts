import { createHash } from "node:crypto";
import fs from "node:fs";
import { execFileSync } from "node:child_process";
import zlib from "node:zlib";

import type { Page } from "@playwright/test";

import { expect, test } from "./fixtures";

function sha256(path: string): string {
  return createHash("sha256").update(fs.readFileSync(path)).digest("hex");
}

async function manifestOf(page: Page, backupId: string) {
  const response = await page.request.get(`/api/v1/backups/${backupId}`);
  expect(response.status()).toBe(200);
  const body = await response.json();
  return body.response.manifest as { files: { kind: string; name: string; size: number; sha256: string }[] };
}

test.describe("Backups page", () => {
  test("an administrator lists prd's backups newest first and downloads both files", async ({
    signInPage,
    environmentsPage,
    backupsPage,
    activityPage,
    page,
  }, testInfo) => {
    await signInPage.signIn("Ada Admin");
    await environmentsPage.environment("prd").getByRole("link", { name: "Open" }).click();
    await expect(page).toHaveURL(/\/projects\/acme\/prd\/backups$/);
    await expect(page.getByRole("heading", { name: "acme-prd" })).toBeVisible();

    await expect(backupsPage.rows()).toHaveCount(4);
    const times = await backupsPage.table.locator("time").evaluateAll((els) => els.map((el) => el.getAttribute("datetime") ?? ""));
    expect(times).toEqual([...times].sort().reverse());
    const failed = backupsPage.rows().filter({ hasText: "Failed" });
    await expect(failed).toHaveCount(1);
    await expect(failed).toContainText("Connection refused");

    const completed = backupsPage.rows().filter({ hasText: "Completed" }).first();
    const backupId = await backupsPage.backupIdOf(completed);
    expect(backupId).toMatch(/^acme-[a-z]+-\d{12}$/);
    const manifest = await manifestOf(page, backupId);

    const database = await backupsPage.download(backupId, "Database (.gz)");
    expect(database.suggestedFilename()).toBe(`${backupId}-database.gz`);
    const databasePath = testInfo.outputPath("database.gz");
    await database.saveAs(databasePath);
    expect(sha256(databasePath)).toBe(manifest.files.find((f) => f.kind === "database")!.sha256);
    const sql = zlib.gunzipSync(fs.readFileSync(databasePath)).toString("utf8");
    expect(sql).toContain("CREATE TABLE");
    expect(sql).toContain("PostgreSQL database dump complete");

    const volume = await backupsPage.download(backupId, "Liferay (.tgz)");
    expect(volume.suggestedFilename()).toBe(`${backupId}-volume.tgz`);
    const volumePath = testInfo.outputPath("volume.tgz");
    await volume.saveAs(volumePath);
    expect(sha256(volumePath)).toBe(manifest.files.find((f) => f.kind === "volume")!.sha256);
    const entries = execFileSync("tar", ["-tzf", volumePath], { encoding: "utf8" }).trim().split("\n");
    expect(entries.length).toBeGreaterThan(3);
    for (const entry of entries) expect(entry).toMatch(/^document_library\//);

    // Every download is in the environment's activity: who, which file, how much.
    await backupsPage.activityLink.click();
    const downloads = activityPage.entries("Downloaded a backup file", backupId);
    await expect(downloads).toHaveCount(2);
    await expect(downloads.filter({ hasText: "database.gz" })).toContainText("admin@acme.test");
    await expect(downloads.filter({ hasText: "volume.tgz" })).toContainText(/KiB/);
  });

  test("the Actions menu works from the keyboard and copies the ID", async ({ signInPage, backupsPage, page, context }) => {
    await context.grantPermissions(["clipboard-read", "clipboard-write"]);
    await signInPage.signIn("Ada Admin", "/projects/acme/uat/backups");
    await expect(backupsPage.rows()).toHaveCount(2);
    const backupId = await backupsPage.backupIdOf(backupsPage.rows().first());
    const trigger = backupsPage.actionsButton(backupId);
    await trigger.focus();
    await page.keyboard.press("Enter");
    const menu = backupsPage.menu;
    await expect(menu.getByRole("menuitem")).toHaveText(["Download", "Restore…", "Copy ID", "Pin", "Delete…"]);
    await expect(menu.getByRole("menuitem", { name: "Download" })).toBeFocused();
    await page.keyboard.press("Enter");
    const dialog = backupsPage.downloadDialog;
    // Focus moves to the first file; Tab goes on to its Copy link button.
    await expect(dialog.getByRole("link", { name: "Database (.gz)" })).toBeFocused();
    await page.keyboard.press("Tab");
    await expect(dialog.getByRole("button", { name: "Copy link (1 hour) to Database (.gz)" })).toBeFocused();
    await expect(dialog.getByRole("listitem")).toHaveCount(2);
    await expect(dialog.getByRole("listitem").nth(1)).toContainText(/Liferay \(\.tgz\)\s*\d+(\.\d)? KiB/);
    await expect(dialog).toContainText(/sha256 [0-9a-f]{64}/);
    await page.keyboard.press("Escape");
    await expect(dialog).toHaveCount(0);
    await expect(trigger).toBeFocused();

    await backupsPage.choose(backupId, "Copy ID");
    await expect(page.getByRole("status").filter({ hasText: "Copied" })).toHaveText(`Copied ${backupId}`);
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(backupId);
  });

  test("filters by status and origin", async ({ signInPage, backupsPage, page }) => {
    await signInPage.signIn("Ada Admin", "/projects/acme/prd/backups");
    await expect(backupsPage.rows()).toHaveCount(4);
    await backupsPage.statusFilter.selectOption("failed");
    await expect(backupsPage.rows()).toHaveCount(1);
    await backupsPage.statusFilter.selectOption("");
    await backupsPage.originFilter.selectOption("uploaded");
    await expect(backupsPage.rows()).toHaveCount(1);
    await expect(backupsPage.rows()).toContainText("Uploaded");
    await backupsPage.originFilter.selectOption("imported");
    await expect(page.getByText("No backups match these filters.")).toBeVisible();
  });

  test("a member gets no production download, in the menu or directly", async ({ signInPage, backupsPage, page }) => {
    await signInPage.signIn("Max Member", "/projects/acme/prd/backups");
    await expect(page.getByText("Only production environment administrators can download backups")).toBeVisible();
    const completed = backupsPage.rows().filter({ hasText: "Completed" }).first();
    const backupId = await backupsPage.backupIdOf(completed);
    await backupsPage.actionsButton(backupId).click();
    await expect(backupsPage.menu.getByRole("menuitem")).toHaveText(["Copy ID"]);
    await page.keyboard.press("Escape");

    for (const kind of ["database", "volume"]) {
      const response = await page.request.get(`/backup/download/${kind}/${backupId}`);
      expect(response.status()).toBe(403);
      expect((await response.json()).error.code).toBe("forbidden");
    }

    // Outside production, members may download.
    await backupsPage.goto("dev");
    const devId = await backupsPage.backupIdOf(backupsPage.rows().first());
    const download = await backupsPage.download(devId, "Database (.gz)");
    expect(download.suggestedFilename()).toBe(`${devId}-database.gz`);
    expect(await download.failure()).toBeNull();
  });
});
