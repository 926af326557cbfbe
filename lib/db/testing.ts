import { randomBytes } from "node:crypto";

import { PGlite } from "@electric-sql/pglite";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import postgres from "postgres";

import type { Db, DbHandle } from "./client";
import { migrateDatabase } from "./migrate";
import * as schema from "./schema";

/** The server every machine runs; tests create (and drop) their own database on it. */
export const TEST_POSTGRES_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

export const DATABASE_KINDS = ["pglite", "postgres"] as const;
export type DatabaseKind = (typeof DATABASE_KINDS)[number];

/** A fresh, migrated database of either kind; `close()` throws it away. */
export async function createTestDatabase(kind: DatabaseKind): Promise<DbHandle & { url?: string }> {
  if (kind === "pglite") {
    const client = new PGlite();
    const handle: DbHandle = {
      db: drizzlePglite(client, { schema }) as unknown as Db,
      kind,
      close: () => client.close(),
    };
    await migrateDatabase({ kind: "pglite", handle });
    return handle;
  }
  const name = `lifeboat_test_${randomBytes(6).toString("hex")}`;
  const admin = postgres(TEST_POSTGRES_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  await migrateDatabase({ kind: "postgres", url: url.toString() });
  const client = postgres(url.toString(), { max: 5, onnotice: () => {} });
  return {
    db: drizzlePostgres(client, { schema }) as unknown as Db,
    kind,
    url: url.toString(),
    close: async () => {
      await client.end({ timeout: 5 });
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end({ timeout: 5 });
    },
  };
}
