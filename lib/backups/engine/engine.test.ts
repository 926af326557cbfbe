import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";

import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import type { Actor } from "@/lib/auth/permissions";
import { encryptSecret } from "@/lib/crypto/secrets";
import type { DbHandle } from "@/lib/db/client";
import { listAuditEvents } from "@/lib/db/queries/audit";
import { getBackup } from "@/lib/db/queries/backups";
import { acquireEnvironmentLock, getEnvironmentLock } from "@/lib/db/queries/locks";
import { backups, environments, jobs } from "@/lib/db/schema";
import type { Environment } from "@/lib/db/schema";
import { DEMO_GROUPS, seedDemoProject } from "@/lib/db/seed";
import { createTestDatabase, DATABASE_KINDS } from "@/lib/db/testing";
import { getJob } from "@/lib/jobs/queue";
import { createStorage } from "@/lib/storage";
import type { Storage } from "@/lib/storage/types";
import { isAppError } from "@/lib/errors";
import { until } from "@/lib/testing/until";
import { actorFor, configureEnvironment, objectsUnder, runJobsUntilIdle, workerDiesThenSweep } from "@/lib/backups/testing";

import { ABANDONED_BACKUP_REASON, backupObjectKey, createBackupJobHandler, CREATE_BACKUP_QUEUE, progressReporter } from "./create-backup";
import type { BackupEngineDeps } from "./create-backup";
import { dumpCommand, postgresTablePattern, usefulStderrLine } from "./dump";
import { requestBackup } from "./request";

/*
 * Real dumps of real servers: the PostgreSQL and MariaDB every development
 * machine runs (postgres@127.0.0.1:5432 trusted, root@127.0.0.1:3306 without
 * a password). Each test makes its own throwaway databases and drops them.
 */

const PG = { host: "127.0.0.1", port: 5432, user: "postgres" };
const MY = { host: "127.0.0.1", port: 3306, user: "root" };
const SECRET = "engine-tests-secret-that-is-long-enough-0123456789";

function sh(script: string, env: Record<string, string> = {}): string {
  return execFileSync("bash", ["-o", "pipefail", "-c", script], { env: { ...process.env, ...env }, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
}

function psql(database: string, query: string): string {
  return execFileSync("psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", PG.host, "-U", PG.user, "-d", database, "-c", query], {
    encoding: "utf8",
  }).trim();
}

function mysql(query: string, database?: string): string {
  return execFileSync(
    "mysql",
    ["-h", MY.host, "-P", String(MY.port), "-u", MY.user, "--protocol=TCP", "-N", "-B", ...(database ? [database] : []), "-e", query],
    {
      encoding: "utf8",
    },
  ).trim();
}

const PG_TABLES = ["accounts", "orders", "audit_log"] as const;
const MY_TABLES = ["User_", "Order_", "AuditLog"] as const;

function createPostgresSource(name: string): void {
  psql("postgres", `create database ${name}`);
  psql(
    name,
    `create table accounts (id int primary key, email text not null, balance numeric(12,2));
     insert into accounts select g, 'user' || g || '@acme.test', g * 1.5 from generate_series(1, 500) g;
     create table orders (id bigint primary key, account_id int references accounts(id), note text, placed_at timestamptz);
     insert into orders select g, 1 + g % 500, 'order ''' || g || E''' with a tab\\tand é', timestamptz '2024-01-01' + g * interval '1 minute' from generate_series(1, 3000) g;
     create table audit_log (id int primary key, line text);
     insert into audit_log select g, md5(g::text) from generate_series(1, 200) g;`,
  );
}

function postgresFingerprint(database: string, table: string): string {
  return psql(database, `select count(*) || ':' || coalesce(md5(string_agg(t::text, ',' order by t.id)), '') from ${table} t`);
}

function postgresTableExists(database: string, table: string): boolean {
  return psql(database, `select count(*) from information_schema.tables where table_schema = 'public' and table_name = '${table}'`) === "1";
}

function createMysqlSource(name: string): void {
  mysql(
    `set session max_recursive_iterations = 100000;
     create database \`${name}\`;
     use \`${name}\`;
     create table User_ (userId bigint primary key, emailAddress varchar(200) not null, screenName varchar(100));
     create table Order_ (orderId bigint primary key, userId bigint, note text, createDate datetime(3));
     create table AuditLog (auditLogId bigint primary key, line varchar(64));
     insert into User_ with recursive s(n) as (select 1 union all select n + 1 from s where n < 400) select n, concat('user', n, '@acme.test'), concat('Screen ''', n, '''') from s;
     insert into Order_ with recursive s(n) as (select 1 union all select n + 1 from s where n < 2500) select n, 1 + n % 400, concat('note\\t', n, ' é'), timestamp('2024-01-01') + interval n minute from s;
     insert into AuditLog with recursive s(n) as (select 1 union all select n + 1 from s where n < 150) select n, md5(n) from s;`,
  );
}

const MY_ID = { User_: "userId", Order_: "orderId", AuditLog: "auditLogId" } as const;

function mysqlFingerprint(database: string, table: keyof typeof MY_ID): string {
  const id = MY_ID[table];
  return mysql(
    `set session group_concat_max_len = 1024 * 1024 * 64;
     select concat(count(*), ':', coalesce(md5(group_concat(concat_ws('|', t.*) order by t.${id} separator ',')), '')) from \`${table}\` t;`.replace(
      "concat_ws('|', t.*)",
      table === "User_"
        ? "concat_ws('|', userId, emailAddress, screenName)"
        : table === "Order_"
          ? "concat_ws('|', orderId, userId, note, createDate)"
          : "concat_ws('|', auditLogId, line)",
    ),
    database,
  );
}

function mysqlTableExists(database: string, table: string): boolean {
  return mysql(`select count(*) from information_schema.tables where table_schema = '${database}' and table_name = '${table}'`) === "1";
}

async function makeVolume(root: string): Promise<string[]> {
  const volume = path.join(root, "data", "liferay-files");
  const files = ["0/12/a.txt", "0/12/b.bin", "readme.md", "deep/er/still/c.json"];
  for (const file of files) {
    await mkdir(path.dirname(path.join(volume, file)), { recursive: true });
    await writeFile(path.join(volume, file), file.endsWith(".bin") ? randomBytes(300_000) : `contents of ${file}\n`);
  }
  return files.map((f) => `document_library/${f}`).sort();
}

describe("dump commands", () => {
  it("never put the password in argv, and quote excluded PostgreSQL tables exactly", () => {
    const pg = dumpCommand({
      engine: "postgresql",
      host: "db",
      port: 5433,
      database: "lportal",
      user: "liferay",
      password: "s3cret",
      excludedTables: ["Audit_Log", "public.big"],
    });
    expect(pg.args.join(" ")).not.toContain("s3cret");
    expect(pg.env.PGPASSWORD).toBe("s3cret");
    expect(pg.args).toContain('--exclude-table="Audit_Log"');
    expect(pg.args).toContain('--exclude-table="public"."big"');
    expect(postgresTablePattern('we"ird')).toBe('"we""ird"');
    const my = dumpCommand({ engine: "mysql", host: "db", port: null, database: "lportal", user: "liferay", password: "s3cret", excludedTables: ["AuditLog"] });
    expect(my.args.join(" ")).not.toContain("s3cret");
    expect(my.env.MYSQL_PWD).toBe("s3cret");
    expect(my.args).toEqual(
      expect.arrayContaining(["--databases", "lportal", "--add-drop-database", "--single-transaction", "--ignore-table=lportal.AuditLog"]),
    );
  });

  it("picks the line of stderr that says what went wrong", () => {
    expect(usefulStderrLine('pg_dump: error: connection to server at "127.0.0.1", port 1 failed: Connection refused\n\tIs the server running?')).toBe(
      'pg_dump: error: connection to server at "127.0.0.1", port 1 failed: Connection refused',
    );
    expect(usefulStderrLine("mysqldump: [Warning] Using a password\nmysqldump: Got error: 1049: \"Unknown database 'x'\" when selecting the database")).toMatch(
      /Unknown database/,
    );
    expect(usefulStderrLine("")).toBeNull();
  });
});

describe.each(DATABASE_KINDS)("backup engine with Lifeboat on %s", (kind) => {
  let handle: DbHandle;
  let storage: Storage;
  let root: string;
  let admin: Actor;
  let member: Actor;
  let deps: BackupEngineDeps;
  const suffix = `${kind}_${randomBytes(4).toString("hex")}`;
  const pgSource = `lb_src_${suffix}`;
  const pgTarget = `lb_dst_${suffix}`;
  const mySource = `lb_src_${suffix}`;
  const myTarget = `lb_dst_${suffix}`;
  let volumeFiles: string[];

  const configure = (name: string, values: Partial<Environment>) => configureEnvironment(handle.db, name, values);
  const runJobs = () => runJobsUntilIdle(handle.db, { [CREATE_BACKUP_QUEUE]: createBackupJobHandler(deps) });

  beforeAll(async () => {
    process.env.NEXTAUTH_SECRET = SECRET;
    handle = await createTestDatabase(kind);
    await seedDemoProject(handle.db);
    root = await mkdtemp(path.join(tmpdir(), "lifeboat-engine-"));
    storage = createStorage({ driver: "local", root: path.join(root, "storage") });
    deps = { db: handle.db, storage, progressIntervalMs: 50, volumeRoots: [root] };
    admin = await actorFor(handle.db, "alice@acme.test", [DEMO_GROUPS.admins]);
    member = await actorFor(handle.db, "mia@acme.test", [DEMO_GROUPS.members]);
    volumeFiles = await makeVolume(root);
    createPostgresSource(pgSource);
    psql("postgres", `create database ${pgTarget}`);
    createMysqlSource(mySource);
  });

  afterAll(async () => {
    psql("postgres", `drop database if exists ${pgSource} with (force)`);
    psql("postgres", `drop database if exists ${pgTarget} with (force)`);
    mysql(`drop database if exists \`${mySource}\`; drop database if exists \`${myTarget}\``);
    await handle?.close();
    await rm(root, { recursive: true, force: true });
  });

  beforeEach(async () => {
    await handle.db.delete(jobs).where(sql`true`);
  });

  const volumePath = () => path.join(root, "data", "liferay-files");

  it("backs up PostgreSQL: both files stored and verified, the dump restores every table but the excluded one", async () => {
    const environment = await configure("dev", {
      dbEngine: "postgresql",
      dbHost: PG.host,
      dbPort: PG.port,
      dbName: pgSource,
      dbUser: PG.user,
      dbPasswordEncrypted: encryptSecret("not-needed-with-trust"),
      volumePath: volumePath(),
      excludedTables: ["audit_log"],
    });
    const queued = await requestBackup({ db: handle.db, actor: admin, environment, input: { name: "before upgrade", description: "manual" } });
    expect(queued).toMatchObject({ status: "queued", origin: "manual", name: "before upgrade", createdBy: admin.email });
    expect((await getEnvironmentLock(handle.db, { environmentId: environment.id }))?.operation).toBe("backup");

    await runJobs();
    const backup = await getBackup(handle.db, { id: queued.id });
    expect(backup?.statusReason).toBeNull();
    expect(backup).toMatchObject({ status: "completed", verifyStatus: "passed", dbEngine: "postgresql" });
    expect(await getEnvironmentLock(handle.db, { environmentId: environment.id })).toBeUndefined();

    // Every file in storage, with the size and SHA-256 the backup records.
    expect(backup!.files).toHaveLength(2);
    for (const file of backup!.files) {
      const bytes = await streamToBuffer(await storage.getObject(file.storageKey));
      expect(bytes.length).toBe(file.sizeBytes);
      expect(createHash("sha256").update(bytes).digest("hex")).toBe(file.sha256);
      expect(bytes.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    }
    const manifest = backup!.manifest!;
    expect(manifest.database.engine).toBe("postgresql");
    expect(manifest.database.serverVersion).toMatch(/^1\d\.\d+/);
    expect(manifest.database.dumpTool).toMatch(/^pg_dump \(PostgreSQL\) \d+/);
    expect(manifest.files.map((f) => f.name).sort()).toEqual(["database.gz", "volume.tgz"]);
    expect(manifest.createdBy).toBe(admin.email);
    expect(backup!.totalBytes).toBe(backup!.files.reduce((sum, f) => sum + f.sizeBytes, 0));

    // gunzip -c database.gz | psql into another database.
    const dumpFile = path.join(root, `${queued.id}.gz`);
    await writeFile(dumpFile, await streamToBuffer(await storage.getObject(backupObjectKey(queued.id, "database"))));
    sh(`gunzip -c ${dumpFile} | psql -X -q -v ON_ERROR_STOP=1 -h ${PG.host} -U ${PG.user} -d ${pgTarget} > /dev/null`);
    for (const table of ["accounts", "orders"]) expect(postgresFingerprint(pgTarget, table)).toBe(postgresFingerprint(pgSource, table));
    expect(postgresTableExists(pgTarget, "audit_log")).toBe(false);
    expect(PG_TABLES.length).toBe(3);

    // The volume: exactly the folder's files, under document_library/.
    const volumeFile = path.join(root, `${queued.id}.tgz`);
    await writeFile(volumeFile, await streamToBuffer(await storage.getObject(backupObjectKey(queued.id, "volume"))));
    const entries = sh(`tar tzf ${volumeFile}`)
      .split("\n")
      .filter((line) => line && !line.endsWith("/"));
    expect(entries.sort()).toEqual(volumeFiles);
    expect(
      sh(`tar tzf ${volumeFile}`)
        .split("\n")
        .filter(Boolean)
        .every((line) => line.startsWith("document_library/")),
    ).toBe(true);

    const audit = await listAuditEvents(handle.db, { environmentId: environment.id });
    expect(audit.find((e) => e.backupId === queued.id)?.action).toBe("backup.create");
  });

  it("backs up MySQL/MariaDB with --databases --add-drop-database, Pascal-case tables intact", async () => {
    const environment = await configure("uat", {
      dbEngine: "mysql",
      dbHost: MY.host,
      dbPort: MY.port,
      dbName: mySource,
      dbUser: MY.user,
      dbPasswordEncrypted: null,
      volumePath: volumePath(),
      excludedTables: ["AuditLog"],
    });
    const queued = await requestBackup({ db: handle.db, actor: admin, environment, input: {} });
    await runJobs();
    const backup = await getBackup(handle.db, { id: queued.id });
    expect(backup?.statusReason).toBeNull();
    expect(backup?.status).toBe("completed");
    expect(backup!.manifest!.database.serverVersion).toMatch(/MariaDB|^\d+\.\d+/);
    expect(backup!.manifest!.database.dumpTool).toMatch(/^mysqldump/);

    const dumpFile = path.join(root, `${queued.id}.gz`);
    await writeFile(dumpFile, await streamToBuffer(await storage.getObject(backupObjectKey(queued.id, "database"))));
    const head = sh(`gunzip -c ${dumpFile} 2>/dev/null | head -c 20000; true`);
    expect(head).toContain(`DROP DATABASE IF EXISTS \`${mySource}\``);
    expect(head).toContain(`CREATE DATABASE`);
    // The dump names its own database; a restore into another one renames it on the way.
    sh(`gunzip -c ${dumpFile} | sed 's/\`${mySource}\`/\`${myTarget}\`/g' | mysql -h ${MY.host} -P ${MY.port} -u ${MY.user} --protocol=TCP`);
    for (const table of ["User_", "Order_"] as const) expect(mysqlFingerprint(myTarget, table)).toBe(mysqlFingerprint(mySource, table));
    expect(mysqlTableExists(myTarget, "User_")).toBe(true);
    expect(mysqlTableExists(myTarget, "AuditLog")).toBe(false);
    expect(MY_TABLES.length).toBe(3);
  });

  it("fails with a readable reason on a refused connection, stores nothing and releases the lock", async () => {
    const ready = await configure("dev", {
      dbEngine: "postgresql",
      dbHost: PG.host,
      dbPort: PG.port,
      dbName: pgSource,
      dbUser: PG.user,
      volumePath: volumePath(),
    });
    const queued = await requestBackup({ db: handle.db, actor: admin, environment: ready, input: {} });
    // The server went away (here: moved) between the request, which found it answering, and the run.
    const environment = await configure("dev", { dbHost: "127.0.0.1", dbPort: 1 });
    await runJobs();
    const backup = await getBackup(handle.db, { id: queued.id });
    expect(backup?.status).toBe("failed");
    expect(backup?.statusReason).toMatch(/^pg_dump exited with code 1: .*port 1 failed: Connection refused/);
    expect(backup?.files).toEqual([]);
    expect(await objectsUnder(storage, `backups/${queued.id}/`)).toEqual([]);
    expect(await getEnvironmentLock(handle.db, { environmentId: environment.id })).toBeUndefined();
    expect((await getJob(handle.db, { jobId: (await handle.db.select().from(jobs))[0]!.id }))?.status).toBe("failed");
    const audit = await listAuditEvents(handle.db, { environmentId: environment.id });
    expect(audit.find((e) => e.backupId === queued.id)).toMatchObject({
      action: "backup.create_failed",
      detail: expect.objectContaining({ reason: backup!.statusReason }),
    });
  });

  it("a full disk fails the backup with a reason a person can act on, and deletes what was written", async () => {
    // Storage whose disk fills up after the first chunk it receives.
    const full = new Proxy(storage, {
      get(target, prop) {
        if (prop === "putObject") {
          // As a file write stream fails: the first write errors with ENOSPC.
          return async (_key: string, body: NodeJS.ReadableStream) =>
            pipeline(
              body,
              new Writable({
                write(_chunk, _encoding, callback) {
                  callback(Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" }));
                },
              }),
            );
        }
        const value = Reflect.get(target, prop) as unknown;
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const fullDeps = { ...deps, storage: full };
    const environment = await configure("dev", {
      dbEngine: "postgresql",
      dbHost: PG.host,
      dbPort: PG.port,
      dbName: pgSource,
      dbUser: PG.user,
      volumePath: volumePath(),
    });
    const queued = await requestBackup({ db: handle.db, actor: admin, environment, input: {} });
    await runJobsUntilIdle(handle.db, { [CREATE_BACKUP_QUEUE]: createBackupJobHandler(fullDeps) });
    const backup = await getBackup(handle.db, { id: queued.id });
    expect(backup?.status).toBe("failed");
    expect(backup?.statusReason).toMatch(/^The disk Lifeboat stores backups on ran out of space while writing this backup/);
    expect(await objectsUnder(storage, `backups/${queued.id}/`)).toEqual([]);
    expect(await getEnvironmentLock(handle.db, { environmentId: environment.id })).toBeUndefined();
  });

  it("says pg_dump is not installed when it is not on the PATH", async () => {
    const environment = await configure("dev", {
      dbEngine: "postgresql",
      dbHost: PG.host,
      dbPort: PG.port,
      dbName: pgSource,
      dbUser: PG.user,
      volumePath: volumePath(),
    });
    const queued = await requestBackup({ db: handle.db, actor: admin, environment, input: {} });
    const empty = await mkdtemp(path.join(tmpdir(), "lifeboat-no-tools-"));
    const saved = deps.toolEnv;
    deps.toolEnv = { ...process.env, PATH: empty };
    try {
      await runJobs();
    } finally {
      deps.toolEnv = saved;
      await rm(empty, { recursive: true, force: true });
    }
    const backup = await getBackup(handle.db, { id: queued.id });
    expect(backup).toMatchObject({ status: "failed", statusReason: "pg_dump is not installed on the Lifeboat server (it is not on the PATH)." });
    expect(await objectsUnder(storage, `backups/${queued.id}/`)).toEqual([]);
  });

  it("fails readably when the volume folder is missing or a MySQL database does not exist", async () => {
    let environment = await configure("dev", {
      dbEngine: "postgresql",
      dbHost: PG.host,
      dbPort: PG.port,
      dbName: pgSource,
      dbUser: PG.user,
      volumePath: volumePath(),
    });
    let queued = await requestBackup({ db: handle.db, actor: admin, environment, input: {} });
    // The folder went away between the request, which found it, and the run.
    await configure("dev", { volumePath: path.join(root, "nowhere") });
    await runJobs();
    expect(await getBackup(handle.db, { id: queued.id })).toMatchObject({
      status: "failed",
      statusReason: `acme-dev's volume folder ${path.join(root, "nowhere")} does not exist. An operator can correct it in Settings.`,
    });
    expect(await objectsUnder(storage, `backups/${queued.id}/`)).toEqual([]);

    environment = await configure("uat", {
      dbEngine: "mysql",
      dbHost: MY.host,
      dbPort: MY.port,
      dbName: `${mySource}_missing`,
      dbUser: MY.user,
      volumePath: volumePath(),
    });
    queued = await requestBackup({ db: handle.db, actor: admin, environment, input: {} });
    await runJobs();
    const backup = await getBackup(handle.db, { id: queued.id });
    expect(backup?.status).toBe("failed");
    expect(backup?.statusReason).toMatch(/^mysqldump exited with code 2: .*Unknown database/);
  });

  it("reads no folder outside the volume roots and gives no tool an option, whatever a row holds", async () => {
    // Rows written past the settings' checks (an older release, a hand-edited database): a scheduled backup, which
    // nobody waits for, goes to the job, and the job checks them again before anything is read or run.
    const outside = await mkdtemp(path.join(tmpdir(), "lifeboat-outside-"));
    const trap = path.join(outside, "created-by-the-tool");
    try {
      await writeFile(path.join(outside, "secret.txt"), "not the environment's\n");
      await symlink(outside, path.join(root, "link-out"));
      for (const volume of [outside, path.join(root, "link-out")]) {
        const environment = await configure("dev", {
          dbEngine: "postgresql",
          dbHost: PG.host,
          dbPort: PG.port,
          dbName: pgSource,
          dbUser: PG.user,
          volumePath: volume,
        });
        const queued = await requestBackup({ db: handle.db, actor: admin, environment, input: {}, origin: "scheduled" });
        await runJobs();
        const backup = await getBackup(handle.db, { id: queued.id });
        expect(backup?.status, volume).toBe("failed");
        expect(backup?.statusReason, volume).toMatch(
          /^acme-dev's volume folder (must be a folder inside one of the volume roots|resolves outside the volume roots)/,
        );
        expect(await objectsUnder(storage, `backups/${queued.id}/`)).toEqual([]);
      }
      const environment = await configure("uat", {
        dbEngine: "mysql",
        dbHost: MY.host,
        dbPort: MY.port,
        dbName: `--result-file=${trap}`,
        dbUser: MY.user,
        volumePath: volumePath(),
      });
      // Create backup says so at once …
      await expect(requestBackup({ db: handle.db, actor: admin, environment, input: {} })).rejects.toMatchObject({
        status: 422,
        message: expect.stringContaining(`the database name "--result-file=${trap}" is not a plain database name`) as unknown as string,
      });
      // … and a schedule's backup fails before mysqldump is given the name.
      const queued = await requestBackup({ db: handle.db, actor: admin, environment, input: {}, origin: "scheduled" });
      await runJobs();
      const backup = await getBackup(handle.db, { id: queued.id });
      expect(backup?.statusReason).toBe(
        `acme-uat's database source is not valid: the database name "--result-file=${trap}" is not a plain database name. An operator can correct it in Settings.`,
      );
      expect(existsSync(trap)).toBe(false);
    } finally {
      await rm(path.join(root, "link-out"), { force: true });
      await rm(outside, { recursive: true, force: true });
    }
  });

  it("refuses members (403), environments without a source (422) and a busy environment (409)", async () => {
    const environment = await configure("dev", {
      dbEngine: "postgresql",
      dbHost: PG.host,
      dbPort: PG.port,
      dbName: pgSource,
      dbUser: PG.user,
      volumePath: volumePath(),
    });
    const codeOf = (promise: Promise<unknown>) =>
      promise.then(
        () => "ok",
        (error: unknown) => (isAppError(error) ? `${error.status} ${error.message}` : String(error)),
      );
    expect(await codeOf(requestBackup({ db: handle.db, actor: member, environment, input: {} }))).toMatch(/^403 /);
    const bare = await configure("prd", { dbEngine: null, dbHost: null, dbName: null, dbUser: null, volumePath: null });
    expect(await codeOf(requestBackup({ db: handle.db, actor: admin, environment: bare, input: {} }))).toMatch(
      /^422 acme-prd has no database connection .* and no volume folder configured/,
    );
    // A source that is set but cannot be backed up now: one line with the fix, and nothing is queued.
    const unreachable = await configure("prd", {
      dbEngine: "postgresql",
      dbHost: "127.0.0.1",
      dbPort: 1,
      dbName: pgSource,
      dbUser: PG.user,
      volumePath: volumePath(),
    });
    expect(await codeOf(requestBackup({ db: handle.db, actor: admin, environment: unreachable, input: {} }))).toBe(
      "422 Lifeboat cannot make a backup of acme-prd: No PostgreSQL server answers (the connection was refused): start it, or an operator corrects the host and port in the environment's settings.",
    );
    expect(await handle.db.select().from(backups).where(eq(backups.environmentId, unreachable.id))).toEqual([]);
    expect(await getEnvironmentLock(handle.db, { environmentId: unreachable.id })).toBeUndefined();

    const first = await requestBackup({ db: handle.db, actor: admin, environment, input: {} });
    const second = await codeOf(requestBackup({ db: handle.db, actor: admin, environment, input: {} }));
    expect(second).toMatch(/^409 acme-dev is busy: a backup \(.*\) started by alice@acme\.test is running/);
    expect(second).toContain(first.id);
    await runJobs();
    // An upload holding the environment blocks a backup the same way.
    await acquireEnvironmentLock(handle.db, {
      environmentId: environment.id,
      operation: "upload",
      holder: "upload:00000000-0000-0000-0000-000000000000:x",
      ttlMs: 60_000,
    });
    expect(await codeOf(requestBackup({ db: handle.db, actor: admin, environment, input: {} }))).toMatch(
      /^409 acme-dev is busy: a backup is being generated from an upload/,
    );
    await handle.db.execute(sql`delete from environment_locks where environment_id = ${environment.id}`);
  });

  it("a backup whose worker dies is run again, then failed with its lock released and nothing stored", async () => {
    const environment = await configure("dev", {
      dbEngine: "postgresql",
      dbHost: PG.host,
      dbPort: PG.port,
      dbName: pgSource,
      dbUser: PG.user,
      volumePath: volumePath(),
    });
    const queued = await requestBackup({ db: handle.db, actor: admin, environment, input: {} });
    const handlers = { [CREATE_BACKUP_QUEUE]: createBackupJobHandler(deps) };
    for (const attempt of [1, 2]) {
      const { job, swept } = await workerDiesThenSweep({
        db: handle.db,
        queue: CREATE_BACKUP_QUEUE,
        handlers,
        workerId: `doomed-${attempt}`,
        // The worker got as far as marking the backup running and storing part of a file, then died.
        meanwhile: async () => {
          await handle.db.execute(sql`update backups set status = 'running' where id = ${queued.id}`);
          await storage.putObject(backupObjectKey(queued.id, "database"), Readable.from([Buffer.from("partial")]));
        },
      });
      expect(job).toBeDefined();
      expect(swept).toBe(1);
      expect(await getEnvironmentLock(handle.db, { environmentId: environment.id })).toBeUndefined();
      const backup = await getBackup(handle.db, { id: queued.id });
      if (attempt === 1) expect(backup?.status).toBe("queued");
      else expect(backup).toMatchObject({ status: "failed", statusReason: ABANDONED_BACKUP_REASON });
    }
    expect(await objectsUnder(storage, `backups/${queued.id}/`)).toEqual([]);
  });

  it("a retried backup after a dead worker completes", async () => {
    const environment = await configure("dev", {
      dbEngine: "postgresql",
      dbHost: PG.host,
      dbPort: PG.port,
      dbName: pgSource,
      dbUser: PG.user,
      volumePath: volumePath(),
    });
    const queued = await requestBackup({ db: handle.db, actor: admin, environment, input: {} });
    const { job } = await workerDiesThenSweep({ db: handle.db, queue: CREATE_BACKUP_QUEUE, handlers: { [CREATE_BACKUP_QUEUE]: createBackupJobHandler(deps) } });
    await runJobs();
    expect((await getBackup(handle.db, { id: queued.id }))?.status).toBe("completed");
    expect((await getJob(handle.db, { jobId: job.id }))?.attempts).toBe(2);
  });
});

async function streamToBuffer(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe("progress", () => {
  it("writes the running byte count at most once per interval", async () => {
    const handle = await createTestDatabase("pglite");
    try {
      await seedDemoProject(handle.db);
      const [environment] = await handle.db.select().from(environments).where(eq(environments.name, "dev"));
      const actor: Actor = {
        kind: "user",
        id: "a",
        email: "alice@acme.test",
        name: null,
        groups: [],
        roles: new Map([[environment!.id, "admin"]]),
        operator: false,
      };
      await handle.db
        .update(environments)
        .set({ dbEngine: "postgresql", dbHost: "h", dbName: "d", dbUser: "u", volumePath: "/v" })
        .where(eq(environments.id, environment!.id));
      // Scheduled: a request that does not look for the made-up server and folder (a manual one would refuse them).
      const backup = await requestBackup({
        db: handle.db,
        actor,
        environment: { ...environment!, dbEngine: "postgresql", dbHost: "h", dbName: "d", dbUser: "u", volumePath: "/v" },
        input: {},
        origin: "scheduled",
      });
      await handle.db.execute(sql`update backups set status = 'running' where id = ${backup.id}`);
      let updates = 0;
      const counting = new Proxy(handle.db, {
        get(target, property, receiver) {
          if (property === "update") updates++;
          return Reflect.get(target, property, receiver) as unknown;
        },
      });
      const progress = progressReporter(counting, backup.id, 200);
      const started = Date.now();
      while (Date.now() - started < 700) {
        progress.add(1000);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      // About 700 ms at one write per 200 ms: four at most (the first is immediate), however many chunks passed.
      expect(progress.bytes).toBeGreaterThan(50_000);
      expect(updates).toBeGreaterThanOrEqual(3);
      expect(updates).toBeLessThanOrEqual(4);
      // The last write may still be on its way: wait for it, not for a while.
      await until(async () => ((await getBackup(handle.db, { id: backup.id }))?.progressBytes ?? 0) > 0, 5_000, 10, "the progress write");
      const stored = await getBackup(handle.db, { id: backup.id });
      expect(stored!.progressBytes).toBeGreaterThan(0);
      expect(stored!.progressBytes).toBeLessThanOrEqual(progress.bytes);
    } finally {
      await handle.close();
    }
  });
});
