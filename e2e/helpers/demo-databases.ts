import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

import postgres from "postgres";

/*
 * The demo databases of the end-to-end servers: each run's servers name
 * theirs after the run's port (DEMO_DATABASE_PREFIX), so neither a
 * developer's own demo (acme_*) nor another checkout's run is touched, and
 * the global teardown drops them.
 */

export const E2E_PORT = Number(process.env.E2E_PORT ?? 3100);
/** The demo database prefix of the web server playwright.config.ts starts. */
export const E2E_DEMO_PREFIX = `lb_e2e_${E2E_PORT}`;
/** Where the demo databases live: the local server, as the embedded default finds it (DEMO_DATABASE_URL unset). */
const SERVER = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

export function demoDatabase(environment: string, prefix = E2E_DEMO_PREFIX): string {
  return `${prefix}_${environment}`;
}

export async function withDemoDatabase<T>(name: string, use: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const url = new URL(SERVER);
  url.pathname = `/${name}`;
  const sql = postgres(url.toString(), { max: 1, onnotice: () => {} });
  try {
    return await use(sql);
  } finally {
    await sql.end();
  }
}

/** Every public table of a database with its row count and a digest of its rows, in order. */
export async function databaseSnapshot(name: string): Promise<Record<string, string>> {
  return withDemoDatabase(name, async (sql) => {
    const tables = await sql<{ tablename: string }[]>`select tablename from pg_tables where schemaname = 'public' order by tablename`;
    const snapshot: Record<string, string> = {};
    for (const { tablename } of tables) {
      const [row] = await sql.unsafe<{ digest: string }[]>(
        `select count(*) || ':' || coalesce(md5(string_agg(t::text, ',' order by t::text)), '') as digest from public."${tablename}" t`,
      );
      snapshot[tablename] = row!.digest;
    }
    return snapshot;
  });
}

/** Every file under a folder with its SHA-256, by relative path. */
export function folderDigest(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of fs.readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    out[path.relative(root, full)] = crypto.createHash("sha256").update(fs.readFileSync(full)).digest("hex");
  }
  return out;
}

/** Drops the demo databases (and a restore's leftovers of them) whose names start with `prefix_` and carry the demo's mark. */
export async function dropDemoDatabases(prefix = E2E_DEMO_PREFIX): Promise<string[]> {
  const admin = postgres(SERVER, { max: 1, onnotice: () => {} });
  try {
    const marked = await admin<{ datname: string }[]>`
      select datname from pg_database
      where datname like ${`${prefix}\\_%`} and shobj_description(oid, 'pg_database') like 'Lifeboat demo database%'`;
    for (const { datname } of marked) await admin.unsafe(`drop database if exists "${datname}" with (force)`);
    return marked.map((d) => d.datname);
  } finally {
    await admin.end();
  }
}

/**
 * Where the embedded default's seed puts an environment's demo document
 * library: `<DATA_DIR>/volumes/acme-<env>/document_library` (the web server's
 * DATA_DIR is .e2e-data, see playwright.config.ts). Tests read it from disk:
 * the settings API shows sources to operators only.
 */
export function demoLibrary(environment: string, dataDir = ".e2e-data"): string {
  return path.resolve(dataDir, "volumes", `acme-${environment}`, "document_library");
}
