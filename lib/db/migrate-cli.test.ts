import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

import { PGlite } from "@electric-sql/pglite";
import { getTableName, is } from "drizzle-orm";
import { PgTable } from "drizzle-orm/pg-core";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { openDatabase } from "./client";
import { MIGRATIONS_FOLDER } from "./migrate";
import * as schema from "./schema";
import { TEST_POSTGRES_URL } from "./testing";

const run = promisify(execFile);

/** Every table schema.ts declares: what the migrations must have created. */
const SCHEMA_TABLES = Object.values(schema)
  .filter((value) => is(value, PgTable))
  .map((table) => getTableName(table))
  .sort();

/** The migrations committed in drizzle/: a fresh database gets all of them. */
const MIGRATIONS = (JSON.parse(fs.readFileSync(path.join(MIGRATIONS_FOLDER, "meta", "_journal.json"), "utf8")) as { entries: unknown[] }).entries.length;

const TABLES_QUERY = "select table_name from information_schema.tables where table_schema = 'public' order by table_name";
const APPLIED_QUERY = "select id, hash, created_at::text from drizzle.__drizzle_migrations order by id";

/** `npm run db:migrate`, exactly as the README gives it, with only the database settings named. */
async function dbMigrate(env: { DATABASE_URL?: string; DATA_DIR?: string }): Promise<{ code: number; stdout: string; stderr: string }> {
  const { DATABASE_URL: _url, DATA_DIR: _dir, ...inherited } = process.env;
  try {
    const { stdout, stderr } = await run("npm", ["run", "--silent", "db:migrate"], { env: { ...inherited, ...env }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout: string; stderr: string };
    return { code: failed.code ?? -1, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe("npm run db:migrate", () => {
  describe("on PostgreSQL (DATABASE_URL)", () => {
    const name = `lifeboat_migrate_${randomBytes(6).toString("hex")}`;
    const admin = postgres(TEST_POSTGRES_URL, { max: 1, onnotice: () => {} });
    const url = new URL(TEST_POSTGRES_URL);
    url.pathname = `/${name}`;
    let client: ReturnType<typeof postgres>;

    beforeAll(async () => {
      await admin.unsafe(`create database ${name}`);
      client = postgres(url.toString(), { max: 1, onnotice: () => {} });
    });
    afterAll(async () => {
      await client?.end({ timeout: 5 });
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end({ timeout: 5 });
    });

    it("creates every table of the schema, and a second run changes nothing", async () => {
      const first = await dbMigrate({ DATABASE_URL: url.toString() });
      expect(first.stderr).toBe("");
      expect(first.code).toBe(0);
      expect(first.stdout).toContain(`Applied ${MIGRATIONS} migrations to PostgreSQL at ${url.host}/${name}`);
      const tables = (await client.unsafe<{ table_name: string }[]>(TABLES_QUERY)).map((row) => row.table_name);
      expect(tables).toEqual(SCHEMA_TABLES);
      const applied = await client.unsafe(APPLIED_QUERY);
      expect(applied).toHaveLength(MIGRATIONS);

      const second = await dbMigrate({ DATABASE_URL: url.toString() });
      expect(second.code).toBe(0);
      expect(second.stdout).toContain(`Up to date: PostgreSQL at ${url.host}/${name} has all ${MIGRATIONS} migrations; nothing applied.`);
      expect(await client.unsafe(APPLIED_QUERY)).toEqual(applied);
      expect((await client.unsafe<{ table_name: string }[]>(TABLES_QUERY)).map((row) => row.table_name)).toEqual(SCHEMA_TABLES);
    });
  });

  describe("on the embedded database (DATA_DIR)", () => {
    let dataDir: string;
    beforeAll(() => {
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lifeboat-migrate-"));
    });
    afterAll(() => {
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    /** Opens the folder the script migrated (only after it exited: PGlite has one owner). */
    async function inspect(): Promise<{ tables: string[]; applied: unknown[] }> {
      const pglite = new PGlite(path.join(dataDir, "pglite"));
      try {
        const tables = (await pglite.query<{ table_name: string }>(TABLES_QUERY)).rows.map((row) => row.table_name);
        const applied = (await pglite.query(APPLIED_QUERY)).rows;
        return { tables, applied };
      } finally {
        await pglite.close();
      }
    }

    it("creates every table of the schema under DATA_DIR/pglite, and a second run changes nothing", async () => {
      const first = await dbMigrate({ DATA_DIR: dataDir });
      expect(first.stderr).toBe("");
      expect(first.code).toBe(0);
      expect(first.stdout).toContain(`Applied ${MIGRATIONS} migrations to the embedded database at ${path.join(dataDir, "pglite")}`);
      const before = await inspect();
      expect(before.tables).toEqual(SCHEMA_TABLES);
      expect(before.applied).toHaveLength(MIGRATIONS);

      const second = await dbMigrate({ DATA_DIR: dataDir });
      expect(second.code).toBe(0);
      expect(second.stdout).toContain("Up to date: the embedded database");
      expect(await inspect()).toEqual(before);
    });

    it("refuses while another process has the embedded database open", async () => {
      // The console's own way of opening it: the pid lock a running server holds.
      const server = openDatabase({ kind: "pglite", dataDir: path.join(dataDir, "pglite") });
      try {
        const refused = await dbMigrate({ DATA_DIR: dataDir });
        expect(refused.code).toBe(1);
        expect(refused.stderr).toContain(`is in use by another Lifeboat process (pid ${process.pid})`);
        expect(refused.stdout).toBe("");
      } finally {
        await server.close();
      }
    });
  });

  it("names the variable when DATABASE_URL is not a PostgreSQL URL", async () => {
    const refused = await dbMigrate({ DATABASE_URL: "mysql://root@127.0.0.1/lifeboat" });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("DATABASE_URL: must be a postgres:// URL");
  });
});
