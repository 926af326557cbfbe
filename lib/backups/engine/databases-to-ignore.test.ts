import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";

import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { Actor } from "@/lib/auth/permissions";
import { runJobsUntilIdle } from "@/lib/backups/testing";
import { encryptSecret } from "@/lib/crypto/secrets";
import type { DbHandle } from "@/lib/db/client";
import { getBackup } from "@/lib/db/queries/backups";
import { environments } from "@/lib/db/schema";
import type { Environment } from "@/lib/db/schema";
import { seedDemoProject } from "@/lib/db/seed";
import { createTestDatabase } from "@/lib/db/testing";
import { createStorage } from "@/lib/storage";
import type { Storage } from "@/lib/storage/types";

import { backupObjectKey, createBackupJobHandler, CREATE_BACKUP_QUEUE } from "./create-backup";
import { dumpCommand, resolveDumpCommand } from "./dump";
import type { DatabaseSource } from "./dump";
import { requestBackup } from "./request";

/*
 * Databases to ignore (the seeds' LCP_DUMP_DATABASES_TO_IGNORE) against the
 * real MariaDB every development machine runs (root@127.0.0.1:3306, no
 * password). The source is a user of its own that sees only this test's
 * databases, so "every database" means these and nothing another test makes.
 */

const MY = { host: "127.0.0.1", port: 3306 };
const SECRET = "ignore-tests-secret-that-is-long-enough-0123456789";

function mysqlRoot(query: string): string {
  return execFileSync("mysql", ["-h", MY.host, "-P", String(MY.port), "-u", "root", "--protocol=TCP", "-N", "-B", "-e", query], { encoding: "utf8" }).trim();
}

describe("dump commands with databases to ignore", () => {
  const base: DatabaseSource = { engine: "mysql", host: "db", port: null, database: "*", user: "u", password: null, excludedTables: ["AuditLog", "shop.Cart"] };

  it("name every listed database after --databases, and leave excluded tables out of each", () => {
    const command = dumpCommand(base, ["lportal", "shop"]);
    expect(command.args).toEqual(expect.arrayContaining(["--ignore-table=lportal.AuditLog", "--ignore-table=shop.AuditLog", "--ignore-table=shop.Cart"]));
    expect(command.args.slice(command.args.indexOf("--databases"))).toEqual(["--databases", "--", "lportal", "shop"]);
    expect(command.args).toContain("--add-drop-database");
  });

  it("refuse a database that is both named and ignored, and * for PostgreSQL, before any tool runs", async () => {
    await expect(resolveDumpCommand({ ...base, database: "lportal", databasesToIgnore: ["lportal"] })).rejects.toThrow(
      "The database lportal is both the one to back up and one of the databases to ignore. Remove it from the databases to ignore, or name another database.",
    );
    await expect(resolveDumpCommand({ ...base, engine: "postgresql" })).rejects.toThrow(
      /A PostgreSQL backup dumps one database, so the database name cannot be "\*"/,
    );
    // Other ignored names change nothing for a named database.
    expect((await resolveDumpCommand({ ...base, database: "lportal", excludedTables: [], databasesToIgnore: ["other"] })).args).toEqual(
      dumpCommand({ ...base, database: "lportal", excludedTables: [] }).args,
    );
  });
});

describe("backing up every MariaDB database but the ignored ones", () => {
  let handle: DbHandle;
  let storage: Storage;
  let root: string;
  let uat: Environment;
  const suffix = randomBytes(4).toString("hex");
  const user = `lbign_${suffix}`;
  const password = `pw-${randomBytes(8).toString("hex")}`;
  const keep = `lbign_keep_${suffix}`;
  const skip = `lbign_skip_${suffix}`;
  const admin = (environment: Environment): Actor => ({
    kind: "user",
    id: "a",
    email: "alice@acme.test",
    name: null,
    groups: [],
    roles: new Map([[environment.id, "admin"]]),
    operator: false,
  });

  beforeAll(async () => {
    process.env.NEXTAUTH_SECRET = SECRET;
    handle = await createTestDatabase("pglite");
    await seedDemoProject(handle.db);
    root = await mkdtemp(path.join(tmpdir(), "lifeboat-ignore-"));
    storage = createStorage({ driver: "local", root: path.join(root, "storage") });
    await mkdir(path.join(root, "volume"), { recursive: true });
    await writeFile(path.join(root, "volume", "a.txt"), "a\n");
    for (const database of [keep, skip]) {
      mysqlRoot(
        `create database \`${database}\`; create table \`${database}\`.Item_ (itemId bigint primary key, note varchar(64)); insert into \`${database}\`.Item_ values (1, 'in ${database}')`,
      );
    }
    mysqlRoot(
      `create user '${user}'@'127.0.0.1' identified by '${password}'; grant all on \`${keep}\`.* to '${user}'@'127.0.0.1'; grant all on \`${skip}\`.* to '${user}'@'127.0.0.1'`,
    );
    const [updated] = await handle.db
      .update(environments)
      .set({
        dbEngine: "mysql",
        dbHost: MY.host,
        dbPort: MY.port,
        dbName: "*",
        dbUser: user,
        dbPasswordEncrypted: encryptSecret(password),
        volumePath: path.join(root, "volume"),
        databasesToIgnore: [skip],
      })
      .where(eq(environments.name, "uat"))
      .returning();
    uat = updated!;
  });

  afterAll(async () => {
    mysqlRoot(`drop database if exists \`${keep}\`; drop database if exists \`${skip}\`; drop user if exists '${user}'@'127.0.0.1'`);
    await handle?.close();
    await rm(root, { recursive: true, force: true });
  });

  const runJobs = () => runJobsUntilIdle(handle.db, { [CREATE_BACKUP_QUEUE]: createBackupJobHandler({ db: handle.db, storage, volumeRoots: [root] }) });

  it("lists the server's databases and dumps only those not ignored, never the system ones", async () => {
    const command = await resolveDumpCommand({
      engine: "mysql",
      host: MY.host,
      port: MY.port,
      database: "*",
      user,
      password,
      excludedTables: [],
      databasesToIgnore: [skip],
    });
    expect(command.args.slice(command.args.indexOf("--databases"))).toEqual(["--databases", "--", keep]);

    const queued = await requestBackup({ db: handle.db, actor: admin(uat), environment: uat, input: {} });
    await runJobs();
    const backup = await getBackup(handle.db, { id: queued.id });
    expect(backup?.statusReason).toBeNull();
    expect(backup?.status).toBe("completed");
    const chunks: Buffer[] = [];
    for await (const chunk of await storage.getObject(backupObjectKey(queued.id, "database"))) chunks.push(chunk as Buffer);
    const dump = gunzipSync(Buffer.concat(chunks)).toString("utf8");
    expect(dump).toContain(`DROP DATABASE IF EXISTS \`${keep}\``);
    expect(dump).toContain(`in ${keep}`);
    expect(dump).not.toContain(skip);
    expect(dump).not.toMatch(/CREATE DATABASE [^\n]*`(mysql|information_schema|performance_schema|sys)`/);
  });

  it("fails readably when every database is ignored", async () => {
    const [environment] = await handle.db
      .update(environments)
      .set({ databasesToIgnore: [skip, keep] })
      .where(eq(environments.id, uat.id))
      .returning();
    const queued = await requestBackup({ db: handle.db, actor: admin(environment!), environment: environment!, input: {} });
    await runJobs();
    const backup = await getBackup(handle.db, { id: queued.id });
    expect(backup?.status).toBe("failed");
    expect(backup?.statusReason).toBe(
      `The database server at ${MY.host} has no database to back up besides its system databases and the databases to ignore (${skip}, ${keep}).`,
    );
  });
});
