import { defineConfig, devices } from "@playwright/test";

const PORT = Number(process.env.E2E_PORT ?? 3100);
const BASE_URL = `http://localhost:${PORT}`;

// Debian's Chromium: Playwright's own browser downloads cannot run here.
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export default defineConfig({
  testDir: "./e2e",
  fullyParallel: false,
  workers: 1,
  forbidOnly: Boolean(process.env.CI),
  retries: process.env.CI ? 1 : 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [["list"], ["json", { outputFile: ".reports/e2e.json" }]],
  // Drops the demo databases this run's servers made (e2e/helpers/demo-databases.ts).
  globalTeardown: "./e2e/global-teardown.ts",
  use: {
    baseURL: BASE_URL,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    acceptDownloads: true,
  },
  projects: [
    {
      name: "chromium",
      use: {
        ...devices["Desktop Chrome"],
        launchOptions: {
          executablePath: CHROMIUM,
          args: [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
          ],
        },
      },
    },
  ],
  webServer: {
    // The embedded default, exactly as a new user starts it, on its own ports and a fresh data folder.
    command: "rm -rf .e2e-data && npx tsx server.ts",
    url: `${BASE_URL}/api/health`,
    timeout: 120_000,
    reuseExistingServer: false,
    stdout: "pipe",
    stderr: "pipe",
    env: {
      PORT: String(PORT),
      LIFEBOAT_URL: BASE_URL,
      DATA_DIR: ".e2e-data",
      DEV_OIDC_PORT: String(PORT + 1),
      // The run's own demo databases on the local PostgreSQL, never a developer's acme_* ones.
      DEMO_DATABASE_PREFIX: `lb_e2e_${PORT}`,
      LOG_LEVEL: "warn",
    },
  },
});
