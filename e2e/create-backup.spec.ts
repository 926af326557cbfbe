import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

import postgres from "postgres";

import { expect, test } from "./fixtures";

const SERVER = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const SOURCE_DB = `lifeboat_e2e_source_${process.pid}`;

test.beforeAll(async () => {
  const admin = postgres(SERVER, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${SOURCE_DB}`);
  await admin.unsafe(`create database ${SOURCE_DB}`);
  await admin.end();
  const url = new URL(SERVER);
  url.pathname = `/${SOURCE_DB}`;
  const source = postgres(url.toString(), { max: 1, onnotice: () => {} });
  await source.unsafe("create table user_ (userid bigint primary key, screenname text)");
  await source.unsafe("insert into user_ select g, 'user' || g from generate_series(1, 5000) g");
  await source.end();
});

test.afterAll(async () => {
  const admin = postgres(SERVER, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${SOURCE_DB} with (force)`);
  await admin.end();
});

test("an administrator creates a backup of a real database and watches it complete", async ({ consolePage, page }, testInfo) => {
  const library = testInfo.outputPath("document_library");
  fs.mkdirSync(path.join(library, "20101"), { recursive: true });
  fs.writeFileSync(path.join(library, "20101", "1.0"), "a document\n");

  await consolePage.signIn("Ada Admin", "/projects/acme/dev/backups");
  const url = new URL(SERVER);
  const settings = await page.request.put("/api/v1/projects/acme/environments/dev", {
    data: {
      dbEngine: "postgresql",
      dbHost: url.hostname,
      dbPort: Number(url.port || 5432),
      dbName: SOURCE_DB,
      dbUser: url.username || "postgres",
      volumePath: library,
      scheduleCron: null,
      retentionKeepCount: null,
      retentionDays: null,
      excludedTables: [],
      databasesToIgnore: [],
    },
  });
  expect(settings.status()).toBe(200);

  await page.getByRole("button", { name: "Create backup" }).click();
  const queued = page.getByRole("status").filter({ hasText: "is queued" });
  await expect(queued).toBeVisible();
  const backupId = (await queued.locator(".font-mono").textContent())!.trim();
  const row = page.getByRole("row").filter({ hasText: backupId });
  await expect(row).toContainText("Manual");
  await expect(row).toContainText("Completed", { timeout: 60_000 });

  // The dump restores: every row is in it.
  const response = await page.request.get(`/backup/download/database/${backupId}`);
  expect(response.status()).toBe(200);
  const dump = testInfo.outputPath("database.gz");
  fs.writeFileSync(dump, await response.body());
  const sql = execFileSync("gunzip", ["-c", dump], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  expect(sql).toContain("CREATE TABLE public.user_");
  expect(sql).toMatch(/\n5000\tuser5000\n/);
});

test("a backup without a database source is refused with a reason", async ({ consolePage, page }) => {
  await consolePage.signIn("Ada Admin", "/projects/acme/uat/backups");
  await page.getByRole("button", { name: "Create backup" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "database" })).toBeVisible();
});
