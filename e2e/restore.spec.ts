import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

import postgres from "postgres";

import { expect, test } from "./fixtures";

const SERVER = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const SOURCE_DB = `lifeboat_e2e_restore_src_${process.pid}`;
const TARGET_DB = `lifeboat_e2e_restore_dst_${process.pid}`;

function databaseUrl(name: string): string {
  const url = new URL(SERVER);
  url.pathname = `/${name}`;
  return url.toString();
}

async function withDatabase<T>(name: string, use: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(databaseUrl(name), { max: 1, onnotice: () => {} });
  try {
    return await use(sql);
  } finally {
    await sql.end();
  }
}

/** Every file under a folder with its SHA-256, by relative path. */
function folderDigest(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of fs.readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    out[path.relative(root, full)] = crypto.createHash("sha256").update(fs.readFileSync(full)).digest("hex");
  }
  return out;
}

function settingsFor(database: string, volumePath: string | null) {
  const url = new URL(SERVER);
  return {
    dbEngine: "postgresql",
    dbHost: url.hostname,
    dbPort: Number(url.port || 5432),
    dbName: database,
    dbUser: url.username || "postgres",
    volumePath,
    scheduleCron: null,
    retentionKeepCount: null,
    retentionDays: null,
    excludedTables: [],
    databasesToIgnore: [],
  };
}

const NO_SOURCE = {
  dbEngine: null,
  dbHost: null,
  dbPort: null,
  dbName: null,
  dbUser: null,
  volumePath: null,
  scheduleCron: null,
  retentionKeepCount: null,
  retentionDays: null,
  excludedTables: [],
  databasesToIgnore: [],
};

test.beforeAll(async () => {
  const admin = postgres(SERVER, { max: 1, onnotice: () => {} });
  for (const name of [SOURCE_DB, TARGET_DB]) {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.unsafe(`create database ${name}`);
  }
  await admin.end();
  await withDatabase(SOURCE_DB, async (sql) => {
    await sql.unsafe("create table user_ (userid bigint primary key, screenname text, portrait bytea)");
    await sql.unsafe("insert into user_ select g, 'user' || g, decode(md5(g::text), 'hex') from generate_series(1, 3000) g");
  });
  await withDatabase(TARGET_DB, async (sql) => {
    await sql.unsafe("create table user_ (userid bigint primary key, screenname text, portrait bytea)");
    await sql.unsafe("insert into user_ values (1, 'stale', null)");
    await sql.unsafe("create table stale_only (id int)");
  });
});

test.afterAll(async () => {
  const admin = postgres(SERVER, { max: 1, onnotice: () => {} });
  // The restore may leave nothing else behind, but a failed run could: drop by prefix.
  const leftovers = await admin<{ datname: string }[]>`select datname from pg_database where datname like ${`lifeboat_e2e_restore_%_${process.pid}%`}`;
  for (const { datname } of leftovers) await admin.unsafe(`drop database if exists "${datname}" with (force)`);
  await admin.end();
});

test("an administrator creates a backup in dev, watches it complete and restores it into uat", async ({ consolePage, page }, testInfo) => {
  test.setTimeout(120_000);
  const sourceLibrary = testInfo.outputPath("dev_document_library");
  fs.mkdirSync(path.join(sourceLibrary, "20101", "nested"), { recursive: true });
  fs.writeFileSync(path.join(sourceLibrary, "20101", "1.0"), "a document\n");
  fs.writeFileSync(path.join(sourceLibrary, "20101", "nested", "photo.png"), crypto.randomBytes(200_000));
  const targetLibrary = testInfo.outputPath("uat_document_library");
  fs.mkdirSync(targetLibrary, { recursive: true });
  fs.writeFileSync(path.join(targetLibrary, "stale.txt"), "from before the restore\n");

  await consolePage.signIn("Ada Admin", "/projects/acme/dev/backups");
  for (const [environment, database, library] of [
    ["dev", SOURCE_DB, sourceLibrary],
    ["uat", TARGET_DB, targetLibrary],
  ] as const) {
    const response = await page.request.put(`/api/v1/projects/acme/environments/${environment}`, { data: settingsFor(database, library) });
    expect(response.status(), await response.text()).toBe(200);
  }

  try {
    // Create the backup from the page and watch it complete.
    await page.getByRole("button", { name: "Create backup" }).click();
    const queued = page.getByRole("status").filter({ hasText: "is queued" });
    await expect(queued).toBeVisible();
    const backupId = (await queued.locator(".font-mono").textContent())!.trim();
    const row = page.getByRole("row").filter({ hasText: backupId });
    await expect(row).toContainText("Completed", { timeout: 60_000 });

    // Production asks for its name to be typed; the button stays disabled until it is.
    await row.getByRole("button", { name: `Actions for ${backupId}` }).click();
    await page.getByRole("menuitem", { name: "Restore…" }).click();
    const dialog = page.getByRole("dialog", { name: "Restore backup" });
    await expect(dialog).toBeVisible();
    await dialog.getByLabel("Restore into").selectOption({ label: "acme-prd (Live site) — production" });
    const restorePrd = dialog.getByRole("button", { name: "Restore into acme-prd" });
    await expect(restorePrd).toBeDisabled();
    await dialog.getByLabel("Type prd to confirm").fill("pr");
    await expect(restorePrd).toBeDisabled();
    await dialog.getByLabel("Type prd to confirm").fill("prd");
    await expect(restorePrd).toBeEnabled();
    // prd has no database source here: the server's reason shows in the dialog, and nothing is queued.
    await restorePrd.click();
    await expect(dialog.getByRole("alert")).toContainText(
      "acme-prd has no database connection (engine, host, database name and user) and no volume folder configured",
    );

    // Into uat: the confirmation is the dialog itself.
    await dialog.getByLabel("Restore into").selectOption({ label: "acme-uat (User acceptance)" });
    await dialog.getByRole("button", { name: "Restore into acme-uat" }).click();
    await expect(dialog.getByRole("status")).toContainText("The restore into acme-uat is queued");
    await dialog.getByRole("link", { name: "Go to acme-uat" }).click();
    await expect(page).toHaveURL(/\/projects\/acme\/uat\/backups/);

    const restores = page.getByRole("list", { name: "Restores" });
    const restore = restores.getByRole("listitem").filter({ hasText: backupId });
    await expect(restore).toContainText("Restored", { timeout: 90_000 });

    // uat now holds exactly dev's data and files.
    const snapshot = (name: string) =>
      withDatabase(name, async (sql) => ({
        rows: await sql`select userid::text, screenname, encode(portrait, 'hex') as portrait from user_ order by userid`,
        tables: (await sql`select tablename from pg_tables where schemaname = 'public' order by tablename`).map((t) => t.tablename as string),
      }));
    const source = await snapshot(SOURCE_DB);
    const target = await snapshot(TARGET_DB);
    expect(target.tables).toEqual(["user_"]);
    expect(target.rows).toHaveLength(3000);
    expect(target.rows).toEqual(source.rows);
    expect(folderDigest(targetLibrary)).toEqual(folderDigest(sourceLibrary));

    await page.getByRole("link", { name: "Activity" }).click();
    const activity = page.getByRole("row").filter({ hasText: backupId });
    await expect(activity.filter({ hasText: "Restored a backup" })).toBeVisible();
    await expect(activity.filter({ hasText: "Asked for a restore" })).toBeVisible();
  } finally {
    // Other specs expect dev and uat without a source.
    for (const environment of ["dev", "uat"]) {
      await page.request.put(`/api/v1/projects/acme/environments/${environment}`, { data: NO_SOURCE });
    }
  }
});
