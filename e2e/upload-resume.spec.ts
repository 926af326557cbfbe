import fs from "node:fs";

import { expect, test } from "./fixtures";
import { ConsoleServer } from "./helpers/console-server";
import { writeDatabaseGz, writeVolumeTgz } from "./helpers/backup-files";

// One part at a time, so pausing leaves some parts stored and the next one not.
const server = new ConsoleServer(Number(process.env.E2E_PORT ?? 3100) + 200, ".e2e-data-resume", { UPLOAD_PARALLEL_PARTS: "1" });

test.beforeAll(async () => {
  fs.rmSync(".e2e-data-resume", { recursive: true, force: true });
  await server.start();
});

test.afterAll(async () => {
  await server.destroy();
});

test("an upload interrupted by a server restart resumes from the parts already stored", async ({ consolePage, page }, testInfo) => {
  test.setTimeout(180_000);
  const dir = testInfo.outputPath("files");
  fs.mkdirSync(dir, { recursive: true });
  const database = writeDatabaseGz(dir, 1_000);
  const volume = writeVolumeTgz(dir, 72 * 1024); // 72 MiB: parts of 32, 32 and 8 MiB

  // Slow every part down so there is time to pause with some parts stored and others not.
  await page.route("**/api/v1/uploads/*/parts/*", async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    await route.continue();
  });

  await consolePage.signIn("Ada Admin", `${server.url}/projects/acme/dev/backups`);
  await page.getByRole("link", { name: "Upload Backup…" }).click();
  let section = page.getByRole("region", { name: "Upload to dev" });
  await section.getByLabel("Database file", { exact: true }).setInputFiles(database);
  await section.getByLabel("Document library file", { exact: true }).setInputFiles(volume);
  await section.getByRole("button", { name: "Initiate Upload" }).click();

  const volumeBar = section.getByRole("progressbar", { name: "Upload of volume.tgz" });
  await expect.poll(async () => Number(await volumeBar.getAttribute("aria-valuenow")), { timeout: 60_000 }).toBeGreaterThanOrEqual(40); // the first volume part is stored, the second is on its way
  await section.getByRole("button", { name: "Pause" }).click();
  await expect(section.getByText("Paused")).toBeVisible();
  const sentBeforeRestart = Number(await volumeBar.getAttribute("aria-valuenow"));
  expect(sentBeforeRestart).toBeLessThan(100);

  await server.stop();
  await server.start();
  await page.unroute("**/api/v1/uploads/*/parts/*");

  // A new page load knows nothing; picking the same files finds the session and its stored parts.
  await page.reload();
  section = page.getByRole("region", { name: "Upload to dev" });
  await expect(section).toBeVisible();
  await section.getByLabel("Database file", { exact: true }).setInputFiles(database);
  await section.getByLabel("Document library file", { exact: true }).setInputFiles(volume);
  await section.getByRole("button", { name: "Initiate Upload" }).click();
  await expect(section.getByText(/already on the server/).first()).toBeVisible({ timeout: 30_000 });
  const success = section.getByRole("status").filter({ hasText: "was generated from your upload" });
  await expect(success).toBeVisible({ timeout: 60_000 });

  const backupId = (await success.locator(".font-mono").textContent())!.trim();
  const response = await page.request.get(`${server.url}/api/v1/backups/${backupId}`);
  const manifest = (await response.json()).response.manifest;
  expect(manifest.files.find((f: { kind: string }) => f.kind === "volume").size).toBe(fs.statSync(volume).size);
});
