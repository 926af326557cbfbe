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

test("an upload interrupted by a server restart resumes from the parts already stored", async ({ signInPage, backupsPage, uploadPage, page }, testInfo) => {
  test.setTimeout(180_000);
  const dir = testInfo.outputPath("files");
  fs.mkdirSync(dir, { recursive: true });
  const database = writeDatabaseGz(dir, 1_000);
  const volume = writeVolumeTgz(dir, 72 * 1024); // 72 MiB: parts of 32, 32 and 8 MiB

  // Part 1 of each file goes through; later parts wait until the test has paused. So when it pauses, the first
  // volume part is stored and the second is on its way (the pause aborts it).
  let pausing!: () => void;
  const paused = new Promise<void>((resolve) => (pausing = resolve));
  await page.route("**/api/v1/uploads/*/parts/*", async (route) => {
    const partNumber = Number(new URL(route.request().url()).pathname.split("/").pop());
    if (partNumber > 1) await paused;
    // The pause has aborted a held part in the browser by now; there is nothing left to send then.
    await route.continue().catch(() => {});
  });

  await signInPage.signIn("Ada Admin", `${server.url}/projects/acme/dev/backups`);
  await backupsPage.uploadLink.click();
  let section = uploadPage.section("dev");
  await section.upload(database, volume);

  const volumeBar = section.progress("volume.tgz");
  await expect.poll(async () => Number(await volumeBar.getAttribute("aria-valuenow")), { timeout: 60_000 }).toBeGreaterThanOrEqual(40); // the first volume part is stored, the second is on its way
  await section.pauseButton.click();
  await expect(section.region.getByText("Paused")).toBeVisible();
  pausing();
  const sentBeforeRestart = Number(await volumeBar.getAttribute("aria-valuenow"));
  expect(sentBeforeRestart).toBeLessThan(100);

  await server.stop();
  await server.start();
  await page.unroute("**/api/v1/uploads/*/parts/*");

  // A new page load knows nothing; picking the same files finds the session and its stored parts.
  await page.reload();
  section = uploadPage.section("dev");
  await expect(section.region).toBeVisible();
  await section.upload(database, volume);
  await expect(section.region.getByText(/already on the server/).first()).toBeVisible({ timeout: 30_000 });
  const success = section.success;
  await expect(success).toBeVisible({ timeout: 60_000 });

  const backupId = await backupsPage.backupIdIn(success);
  const response = await page.request.get(`${server.url}/api/v1/backups/${backupId}`);
  const manifest = (await response.json()).response.manifest;
  expect(manifest.files.find((f: { kind: string }) => f.kind === "volume").size).toBe(fs.statSync(volume).size);
});
