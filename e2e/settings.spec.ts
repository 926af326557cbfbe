import type { Page } from "@playwright/test";

import { expect, test } from "./fixtures";

test("an administrator edits an environment's settings; bad values get clear errors", async ({ consolePage, page }) => {
  await consolePage.signIn("Ada Admin", "/projects/acme/dev/settings");
  // dev's demo sources, put back afterwards: the specs after this one back up and restore them.
  const demoSources = (await (await page.request.get("/api/v1/projects/acme/environments/dev")).json()).response;
  try {
    await editSettings(page);
  } finally {
    const { project: _project, environment: _environment, hasPassword: _hasPassword, nextScheduledRun: _next, ...settings } = demoSources;
    expect((await page.request.put("/api/v1/projects/acme/environments/dev", { data: { ...settings, dbPassword: null } })).status()).toBe(200);
  }
});

async function editSettings(page: Page) {
  const form = page.getByRole("form", { name: "Environment settings" });
  await form.getByLabel("Database engine").selectOption("postgresql");
  await form.getByLabel("Host").fill("127.0.0.1");
  await form.getByLabel("Port").fill("5432");
  await form.getByLabel("Database name").fill("lportal");
  await form.getByLabel("User", { exact: true }).fill("postgres");
  await form.getByLabel("Password").fill("not-shown-again");
  await form.getByLabel("Volume folder").fill("/var/lib/liferay/data/document_library");
  await form.getByLabel("Schedule (cron, UTC)").fill("every night");
  await form.getByRole("button", { name: "Save settings" }).click();
  await expect(form.getByRole("alert")).toContainText("scheduleCron must be a cron expression");

  await form.getByLabel("Schedule (cron, UTC)").fill("15 1 * * *");
  await form.getByLabel("Excluded tables").fill("quartz_log, audit_entry");
  await form.getByRole("button", { name: "Save settings" }).click();
  await expect(form.getByRole("status")).toHaveText("Settings saved.");

  await page.reload();
  await expect(form.getByLabel("Schedule (cron, UTC)")).toHaveValue("15 1 * * *");
  await expect(form).toContainText(/Next run: .* 01:15 UTC/);
  await expect(form.getByLabel("Excluded tables")).toHaveValue("quartz_log, audit_entry");
  await expect(form.getByLabel("Password")).toHaveValue("");
  await expect(form).toContainText("A password is stored (encrypted)");

  const api = await page.request.get("/api/v1/projects/acme/environments/dev");
  const settings = (await api.json()).response;
  expect(settings).toMatchObject({ dbHost: "127.0.0.1", hasPassword: true, volumePath: "/var/lib/liferay/data/document_library" });
  expect(JSON.stringify(settings)).not.toContain("not-shown-again");
}

test("members cannot read or change settings through the API", async ({ consolePage, page }) => {
  await consolePage.signIn("Max Member");
  expect((await page.request.get("/api/v1/projects/acme/environments/dev")).status()).toBe(403);
  const put = await page.request.put("/api/v1/projects/acme/environments/dev", { data: {} });
  expect(put.status()).toBe(403);
});
