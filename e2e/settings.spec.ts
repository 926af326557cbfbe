import path from "node:path";

import { expect, test } from "./fixtures";
import type { SettingsPage } from "./pages/settings";

// The web server's DATA_DIR (playwright.config.ts): its volumes folder is the embedded default's one volume root.
const VOLUME_ROOT = path.resolve(".e2e-data", "volumes");

test("an operator sets an environment's sources, inside the volume roots; bad values get clear errors", async ({ signInPage, settingsPage, page }) => {
  await signInPage.signIn("Olga Operator", "/projects/acme/dev/settings");
  // dev's demo sources, put back afterwards: the specs after this one back up and restore them.
  const demo = (await (await page.request.get("/api/v1/projects/acme/environments/dev")).json()).response;
  const origin = new URL(page.url()).origin;
  try {
    await editSources(settingsPage);
  } finally {
    const { dbEngine, dbHost, dbPort, dbName, dbUser, volumePath } = demo;
    const restored = await page.request.put("/api/v1/projects/acme/environments/dev", {
      headers: { origin },
      data: { dbEngine, dbHost, dbPort, dbName, dbUser, volumePath, dbPassword: null },
    });
    expect(restored.status()).toBe(200);
  }
});

async function editSources(settingsPage: SettingsPage) {
  const { page, form } = settingsPage;
  await expect(form).toContainText(`inside one of the volume roots: ${VOLUME_ROOT}`);
  // An operator without a role in acme sets sources, not the schedule.
  await expect(settingsPage.field("Schedule (cron, UTC)")).toBeDisabled();

  await settingsPage.field("Database engine").selectOption("postgresql");
  await settingsPage.field("Host").fill("--host=evil");
  await settingsPage.saveButton.click();
  await expect(form.getByRole("alert")).toContainText("dbHost: must be a host name");

  await settingsPage.field("Host").fill("127.0.0.1");
  await settingsPage.field("Port").fill("5432");
  await settingsPage.field("Database name").fill("lportal");
  await settingsPage.field("User", true).fill("postgres");
  await settingsPage.field("Password").fill("not-shown-again");
  await settingsPage.field("Volume folder").fill("/etc");
  await settingsPage.saveButton.click();
  await expect(form.getByRole("alert")).toContainText(`the volume folder must be a folder inside one of the volume roots (${VOLUME_ROOT})`);

  const folder = path.join(VOLUME_ROOT, "acme-dev", "document_library");
  await settingsPage.field("Volume folder").fill(folder);
  await settingsPage.saveButton.click();
  await expect(form.getByRole("status")).toHaveText("Settings saved.");

  await page.reload();
  await expect(settingsPage.field("Database name")).toHaveValue("lportal");
  await expect(settingsPage.field("Password")).toHaveValue("");
  await expect(form).toContainText("A password is stored (encrypted)");

  const settings = (await (await page.request.get("/api/v1/projects/acme/environments/dev")).json()).response;
  expect(settings).toMatchObject({ dbHost: "127.0.0.1", dbName: "lportal", hasPassword: true, volumePath: folder, sourcesVisible: true });
  expect(JSON.stringify(settings)).not.toContain("not-shown-again");
}

test("an administrator sets the schedule and retention, and sees the sources only as configured", async ({ signInPage, settingsPage, page }) => {
  await signInPage.signIn("Ada Admin", "/projects/acme/dev/settings");
  const form = settingsPage.form;
  await expect(form).toContainText("The database connection and the volume folder are set by Lifeboat's operators");
  await expect(form).toContainText("Database: configured (PostgreSQL)");
  await expect(settingsPage.field("Host")).toHaveCount(0);
  await expect(settingsPage.field("Volume folder")).toHaveCount(0);

  await settingsPage.field("Schedule (cron, UTC)").fill("every night");
  await settingsPage.saveButton.click();
  await expect(form.getByRole("alert")).toContainText("scheduleCron: must be a cron expression");

  await settingsPage.field("Schedule (cron, UTC)").fill("15 1 * * *");
  await settingsPage.field("Excluded tables").fill("quartz_log, audit_entry");
  await settingsPage.saveButton.click();
  await expect(form.getByRole("status")).toHaveText("Settings saved.");
  await page.reload();
  await expect(settingsPage.field("Schedule (cron, UTC)")).toHaveValue("15 1 * * *");
  await expect(form).toContainText(/Next run: .* 01:15 UTC/);
  await expect(settingsPage.field("Excluded tables")).toHaveValue("quartz_log, audit_entry");

  // The finding replayed: an administrator points the volume folder at a production backup's storage, through the API.
  const origin = new URL(page.url()).origin;
  const refused = await page.request.put("/api/v1/projects/acme/environments/dev", {
    headers: { origin },
    data: { volumePath: path.resolve(".e2e-data", "storage") },
  });
  expect(refused.status()).toBe(403);
  expect((await refused.json()).error.message).toMatch(/^Only Lifeboat's operators can change acme-dev's database connection and volume folder \(volumePath\)/);
  const after = (await (await page.request.get("/api/v1/projects/acme/environments/dev")).json()).response;
  expect(after).toMatchObject({ sourcesVisible: false, volumePath: null, dbHost: null, sourceConfigured: { database: true, volume: true } });

  await settingsPage.field("Schedule (cron, UTC)").fill("");
  await settingsPage.field("Excluded tables").fill("");
  await settingsPage.saveButton.click();
  await expect(form.getByRole("status")).toHaveText("Settings saved.");
});

test("members cannot read or change settings through the API", async ({ signInPage, page }) => {
  await signInPage.signIn("Max Member");
  const origin = new URL(page.url()).origin;
  expect((await page.request.get("/api/v1/projects/acme/environments/dev")).status()).toBe(403);
  const put = await page.request.put("/api/v1/projects/acme/environments/dev", { headers: { origin }, data: {} });
  expect(put.status()).toBe(403);
});
