import path from "node:path";

import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import type { PgliteDatabase } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";

import type { DbHandle } from "./client";

export const MIGRATIONS_FOLDER = path.join(process.cwd(), "drizzle");

// Any constant works; it only has to be the same on every instance.
const MIGRATION_LOCK_KEY = 7_412_853_001;

/** Applies the committed drizzle-kit migrations; safe to run from several instances at once. */
export async function migrateDatabase(
  target: { kind: "pglite"; handle: DbHandle } | { kind: "postgres"; url: string },
  migrationsFolder = MIGRATIONS_FOLDER,
): Promise<void> {
  if (target.kind === "pglite") {
    await migratePglite(target.handle.db as unknown as PgliteDatabase, { migrationsFolder });
    return;
  }
  // Instances starting together must not apply the same migration twice: an
  // advisory lock on one dedicated connection serialises them.
  const client = postgres(target.url, { max: 1, onnotice: () => {} });
  try {
    await client`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
    await migratePostgres(drizzlePostgres(client), { migrationsFolder });
  } finally {
    await client`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`.catch(() => {});
    await client.end({ timeout: 5 });
  }
}
