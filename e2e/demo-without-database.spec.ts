import fs from "node:fs";

import { expect, test } from "./fixtures";
import { E2E_PORT } from "./helpers/demo-databases";
import { ConsoleServer } from "./helpers/console-server";

/*
 * The embedded default where no PostgreSQL server answers for the demo: it
 * starts all the same, and where a person would try a backup or a restore it
 * says in one line what is missing and what fixes it.
 */

const DATA_DIR = ".e2e-data-no-database";
// Nothing listens on port 1: the demo's database server does not answer.
const server = new ConsoleServer(E2E_PORT + 250, DATA_DIR, { DEMO_DATABASE_URL: "postgres://postgres@127.0.0.1:1/postgres" });
const WHY =
  "No PostgreSQL server answered at 127.0.0.1:1 when Lifeboat started, so the demo has no database: start it or correct DEMO_DATABASE_URL, then restart Lifeboat.";

test.beforeAll(async () => {
  fs.rmSync(DATA_DIR, { recursive: true, force: true });
  await server.start();
});

test.afterAll(async () => {
  await server.destroy();
});

test("without a database server, Create backup, Restore… and Settings say what is missing and the fix", async ({
  signInPage,
  backupsPage,
  settingsPage,
  page,
}) => {
  test.setTimeout(90_000);
  await signInPage.signIn("Ada Admin", `${server.url}/projects/acme/dev/backups`);

  // Before pressing anything, beside the button.
  await expect(backupsPage.beforeCreateNote).toHaveText(`acme-dev has no database connection (engine, host, database name and user) configured: ${WHY}`);
  await backupsPage.createButton.click();
  await expect(page.getByRole("alert").filter({ hasText: "cannot make a backup" })).toHaveText(
    `acme-dev has no database connection (engine, host, database name and user) configured, so Lifeboat cannot make a backup of it. ${WHY}`,
  );
  await expect(backupsPage.queued()).toHaveCount(0);

  // A seeded demo backup cannot be restored into uat either, and the dialog says why.
  const completed = backupsPage.rows().filter({ hasText: "Completed" }).first();
  const backupId = await backupsPage.backupIdOf(completed);
  await backupsPage.choose(backupId, "Restore…");
  const dialog = backupsPage.restoreDialog;
  await dialog.getByLabel("Restore into").selectOption({ label: "acme-uat (User acceptance)" });
  await dialog.getByRole("button", { name: "Restore into acme-uat" }).click();
  await expect(dialog.getByRole("alert")).toHaveText(
    `acme-uat has no database connection (engine, host, database name and user) configured, so Lifeboat cannot restore into it. ${WHY}`,
  );
  await page.keyboard.press("Escape");

  // The Settings page: not ready, with the same line; the document library was made all the same.
  await page.goto(`${server.url}/projects/acme/dev/settings`);
  const readiness = settingsPage.readiness;
  await expect(readiness.getByRole("status")).toHaveText(
    `Not ready: acme-dev has no database connection (engine, host, database name and user) configured: ${WHY}`,
  );
  await expect(readiness.getByRole("listitem").filter({ hasText: /OK: ?The volume folder exists, inside the volume roots\.$/ })).toHaveCount(1);
});
