import fs from "node:fs";
import path from "node:path";

import { PGlite } from "@electric-sql/pglite";
import type { ExtractTablesWithRelations } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import postgres from "postgres";

import type { AppConfig } from "@/lib/config";
import { getConfig } from "@/lib/config";

import * as schema from "./schema";

export type Schema = typeof schema;
/** Both drivers' databases: the data layer is written once against this. */
export type Db = PgDatabase<PgQueryResultHKT, Schema, ExtractTablesWithRelations<Schema>>;

export interface DbHandle {
  db: Db;
  kind: "pglite" | "postgres";
  close(): Promise<void>;
}

export class EmbeddedDatabaseLockedError extends Error {
  constructor(dataDir: string, pid: number) {
    super(
      `The embedded database at ${dataDir} is in use by another Lifeboat process (pid ${pid}). ` +
        "Only one process may open it: stop that process, or set DATABASE_URL to use PostgreSQL.",
    );
    this.name = "EmbeddedDatabaseLockedError";
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * PGlite has no lock across processes: two openers of one data folder silently
 * lose writes. A pid file next to the folder makes the second opener fail loudly.
 */
function lockEmbeddedDatabase(dataDir: string): () => void {
  fs.mkdirSync(path.dirname(dataDir), { recursive: true });
  const lockPath = `${dataDir}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lockPath, String(process.pid), { flag: "wx" });
      return () => fs.rmSync(lockPath, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const owner = Number.parseInt(fs.readFileSync(lockPath, "utf8"), 10);
      if (Number.isFinite(owner) && owner !== process.pid && isAlive(owner)) {
        throw new EmbeddedDatabaseLockedError(dataDir, owner);
      }
      // A crashed owner left its lock behind.
      fs.rmSync(lockPath, { force: true });
    }
  }
  throw new Error(`Could not lock the embedded database at ${dataDir}`);
}

export function openDatabase(config: AppConfig["database"]): DbHandle {
  if (config.kind === "postgres") {
    const client = postgres(config.url, { max: 10, onnotice: () => {} });
    return {
      db: drizzlePostgres(client, { schema }) as unknown as Db,
      kind: "postgres",
      close: () => client.end({ timeout: 5 }),
    };
  }
  const unlock = lockEmbeddedDatabase(config.dataDir);
  const client = new PGlite(config.dataDir);
  return {
    db: drizzlePglite(client, { schema }) as unknown as Db,
    kind: "pglite",
    close: async () => {
      try {
        await client.close();
      } finally {
        unlock();
      }
    },
  };
}

// The custom server and Next's bundled route handlers each get their own copy
// of this module; a process-wide symbol makes them share one connection (and,
// for PGlite, the one owner of the data folder). It also survives hot reloads.
const HANDLE_KEY = Symbol.for("lifeboat.db");
type GlobalWithDb = typeof globalThis & { [HANDLE_KEY]?: DbHandle };

export function getDatabaseHandle(): DbHandle {
  const g = globalThis as GlobalWithDb;
  g[HANDLE_KEY] ??= openDatabase(getConfig().database);
  return g[HANDLE_KEY];
}

export function getDb(): Db {
  return getDatabaseHandle().db;
}

export async function closeDatabase(): Promise<void> {
  const g = globalThis as GlobalWithDb;
  const handle = g[HANDLE_KEY];
  g[HANDLE_KEY] = undefined;
  await handle?.close();
}
