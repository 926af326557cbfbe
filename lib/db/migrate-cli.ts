/**
 * `npm run db:migrate`: applies the committed migrations (drizzle/) to the database the console would use —
 * DATABASE_URL's PostgreSQL server, else the embedded PGlite database under DATA_DIR — and exits.
 *
 * The console also migrates at every start; this applies them ahead of a deployment. The embedded database has
 * one owner: while a Lifeboat process has it open, this refuses (the pid lock of lib/db/client.ts).
 */
import { sql } from "drizzle-orm";

import { ConfigError, parseDatabaseConfig } from "@/lib/config";

import type { Db } from "./client";
import { EmbeddedDatabaseLockedError, openDatabase } from "./client";
import { migrateDatabase } from "./migrate";

/** PGlite answers `execute` with `{ rows }`, postgres-js with the rows themselves. */
function rowsOf<T>(result: unknown): T[] {
  return Array.isArray(result) ? (result as T[]) : ((result as { rows: T[] }).rows ?? []);
}

/** How many migrations drizzle has recorded as applied (0 before the first run). */
async function countApplied(db: Db): Promise<number> {
  const [found] = rowsOf<{ name: string | null }>(await db.execute(sql`select to_regclass('drizzle.__drizzle_migrations')::text as name`));
  if (!found?.name) return 0;
  const [counted] = rowsOf<{ count: number }>(await db.execute(sql`select count(*)::int as count from drizzle.__drizzle_migrations`));
  return counted?.count ?? 0;
}

/** Where the migrations went, without a password. */
function describe(database: ReturnType<typeof parseDatabaseConfig>): string {
  if (database.kind === "pglite") return `the embedded database at ${database.dataDir}`;
  const url = new URL(database.url);
  return `PostgreSQL at ${url.host}${url.pathname}`;
}

async function main(): Promise<number> {
  let database: ReturnType<typeof parseDatabaseConfig>;
  try {
    database = parseDatabaseConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    return 1;
  }

  let handle: ReturnType<typeof openDatabase>;
  try {
    handle = openDatabase(database);
  } catch (error) {
    if (!(error instanceof EmbeddedDatabaseLockedError)) throw error;
    console.error(`${error.message} The console applies migrations itself when it starts.`);
    return 1;
  }
  try {
    const before = await countApplied(handle.db);
    await migrateDatabase(database.kind === "postgres" ? { kind: "postgres", url: database.url } : { kind: "pglite", handle });
    const after = await countApplied(handle.db);
    const applied = after - before;
    console.log(
      applied === 0
        ? `Up to date: ${describe(database)} has all ${after} migrations; nothing applied.`
        : `Applied ${applied} migration${applied === 1 ? "" : "s"} to ${describe(database)} (${after} in all).`,
    );
    return 0;
  } finally {
    await handle.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error("The migrations could not be applied:", error);
    process.exit(1);
  },
);
