import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";

import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import type { Actor } from "@/lib/auth/permissions";
import { createBackupJobHandler, CREATE_BACKUP_QUEUE } from "@/lib/backups/engine/create-backup";
import { requestBackup } from "@/lib/backups/engine/request";
import { actorFor, configureEnvironment, runJobsUntilIdle, workerDiesThenSweep } from "@/lib/backups/testing";
import { gz, gzipBombDump, gzipBombVolume, rawTar } from "@/lib/backups/verify/testing";
import type { DbHandle } from "@/lib/db/client";
import { listAuditEvents } from "@/lib/db/queries/audit";
import { getBackup } from "@/lib/db/queries/backups";
import { acquireEnvironmentLock, getEnvironmentLock } from "@/lib/db/queries/locks";
import { getRestore } from "@/lib/db/queries/restores";
import { backupFiles, backups, jobs } from "@/lib/db/schema";
import type { Environment } from "@/lib/db/schema";
import { DEMO_GROUPS, seedDemoProject } from "@/lib/db/seed";
import { createTestDatabase, DATABASE_KINDS } from "@/lib/db/testing";
import { isAppError } from "@/lib/errors";
import { createStorage } from "@/lib/storage";
import type { Storage } from "@/lib/storage/types";

import { ABANDONED_RESTORE_REASON, createRestoreJobHandler, RESTORE_QUEUE, restoreShortId } from "./restore-job";
import type { RestoreEngineDeps } from "./restore-job";
import { requestRestore } from "./request";
import { toRestoreJson } from "./serialize";

/*
 * Real restores into the PostgreSQL and MariaDB every development machine
 * runs (postgres@127.0.0.1:5432 trusted, root@127.0.0.1:3306 without a
 * password): backups made by the real engine, restored by the real job,
 * compared table by table and byte by byte. Each test run makes its own
 * databases and folders and removes them.
 */

const PG = { host: "127.0.0.1", port: 5432, user: "postgres" };
const MY = { host: "127.0.0.1", port: 3306, user: "root" };

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

function createPostgresDatabase(name: string): void {
  psql("postgres", `create database ${name}`);
  psql(
    name,
    `create table accounts (id serial primary key, email text not null, balance numeric(12,2), note text);
     insert into accounts (email, balance, note) select 'user' || g || '@acme.test', g * 1.5, case when g % 7 = 0 then null else 'ünïcødé ☃ ' || g end from generate_series(1, 300) g;
     create table blobs (id int primary key, data bytea, tags text[]);
     insert into blobs select g, decode(md5(g::text) || '00ff00', 'hex'), array['a' || g, null] from generate_series(1, 50) g;
     insert into blobs values (51, null, null), (52, '\\x'::bytea, '{}');
     create table "MixedCase" (id int primary key, "Value" text);
     insert into "MixedCase" values (1, E'tab\\there'), (2, E'line\\nbreak'), (3, '\\.');`,
  );
}

/** Every table's rows, order-independent, plus the sequences' positions: what a restore must reproduce. */
function postgresSnapshot(database: string): Record<string, string> {
  const tables = psql(database, "select quote_ident(table_name) from information_schema.tables where table_schema = 'public' order by 1")
    .split("\n")
    .filter(Boolean);
  const snapshot: Record<string, string> = {};
  for (const table of tables) {
    snapshot[table] = psql(database, `select count(*) || ':' || coalesce(md5(string_agg(t::text, ',' order by t::text)), '') from public.${table} t`);
  }
  snapshot["sequence accounts_id_seq"] = psql(database, "select last_value || '/' || is_called from accounts_id_seq");
  return snapshot;
}

function postgresDatabases(like: string): string[] {
  return psql("postgres", `select datname from pg_database where datname like '${like}' order by 1`).split("\n").filter(Boolean);
}

function createMysqlDatabase(name: string): void {
  mysql(
    `create database \`${name}\`;
     use \`${name}\`;
     create table User_ (userId bigint primary key, emailAddress varchar(200) not null, screenName varchar(100), portrait blob);
     create table AssetEntry (entryId bigint primary key, userId bigint, title text, createDate datetime(3), constraint fk_user foreign key (userId) references User_ (userId));
     insert into User_ values (1, 'a@acme.test', 'ünïcødé ☃', x'00ff10'), (2, 'b@acme.test', null, null), (3, 'c@acme.test', 'tab\\there', '');
     insert into AssetEntry values (10, 1, 'first', '2024-01-01 10:00:00.123'), (11, 2, null, null), (12, 3, 'USE \`${name}\`;', '2024-05-01 00:00:00');`,
  );
}

function mysqlSnapshot(database: string): Record<string, string> {
  const tables = mysql(`select table_name from information_schema.tables where table_schema = '${database}' order by 1`).split("\n").filter(Boolean);
  const snapshot: Record<string, string> = {};
  for (const table of tables) {
    snapshot[table] = mysql(`checksum table \`${database}\`.\`${table}\` extended`).split("\t")[1]!;
    snapshot[`${table} rows`] = mysql(`select count(*) from \`${database}\`.\`${table}\``);
  }
  return snapshot;
}

function mysqlDatabases(like: string): string[] {
  return mysql(`select schema_name from information_schema.schemata where schema_name like '${like}' order by 1`).split("\n").filter(Boolean);
}

/** Every file and link under a folder with its bytes' SHA-256 (or link target), and the folders. */
async function folderSnapshot(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(dir: string, rel: string) {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      const name = path.posix.join(rel, entry.name);
      if (entry.isDirectory()) {
        out[`${name}/`] = "dir";
        await walk(full, name);
      } else if (entry.isFile()) {
        out[name] = createHash("sha256")
          .update(await readFile(full))
          .digest("hex");
      } else if (entry.isSymbolicLink()) out[name] = `link → ${await readlink(full)}`;
      else out[name] = "other";
    }
  }
  await walk(root, "");
  return out;
}

async function makeVolume(folder: string, seed: string): Promise<void> {
  const files: Record<string, Buffer | string> = {
    "0/12/a.txt": `contents of a (${seed})\n`,
    "0/12/b.bin": randomBytes(200_000),
    "readme.md": "ünïcødé ☃\n",
    "deep/er/still/c.json": JSON.stringify({ seed }),
    "empty.txt": "",
  };
  for (const [file, body] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(folder, file)), { recursive: true });
    await writeFile(path.join(folder, file), body);
  }
  await mkdir(path.join(folder, "empty-folder"), { recursive: true });
  await symlink("0/12/a.txt", path.join(folder, "latest"));
}

async function exists(target: string): Promise<boolean> {
  return stat(target).then(
    () => true,
    () => false,
  );
}

const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => "ok",
    (error: unknown) => (isAppError(error) ? `${error.status} ${error.message}` : String(error)),
  );

describe.each(DATABASE_KINDS)("restore engine, Lifeboat on %s", (kind) => {
  let handle: DbHandle;
  let storage: Storage;
  let root: string;
  let admin: Actor;
  let member: Actor;
  let nonprodAdmin: Actor;
  let deps: RestoreEngineDeps;
  const suffix = `${kind.slice(0, 2)}${randomBytes(3).toString("hex")}`;
  const pgDev = `lb_rs_dev_${suffix}`;
  const pgUat = `lb_rs_uat_${suffix}`;
  const myDev = `lb_rs_mydev_${suffix}`;
  const volumes = () => ({
    dev: path.join(root, "dev", "document_library"),
    uat: path.join(root, "uat", "liferay-files"),
    prd: path.join(root, "prd", "document_library"),
  });

  const configure = (name: string, values: Partial<Environment>) => configureEnvironment(handle.db, name, values);

  const pgEnv = (name: string, database: string, volumePath: string) =>
    configure(name, { dbEngine: "postgresql", dbHost: PG.host, dbPort: PG.port, dbName: database, dbUser: PG.user, volumePath });
  const myEnv = (name: string, database: string, volumePath: string) =>
    configure(name, { dbEngine: "mysql", dbHost: MY.host, dbPort: MY.port, dbName: database, dbUser: MY.user, volumePath });

  const runJobs = () =>
    runJobsUntilIdle(
      handle.db,
      { [CREATE_BACKUP_QUEUE]: createBackupJobHandler({ db: handle.db, storage, volumeRoots: [root] }), [RESTORE_QUEUE]: createRestoreJobHandler(deps) },
      30_000,
    );

  async function backupOf(environment: Environment): Promise<string> {
    const queued = await requestBackup({ db: handle.db, actor: admin, environment, input: {} });
    await runJobs();
    const backup = await getBackup(handle.db, { id: queued.id });
    expect(backup?.statusReason).toBeNull();
    expect(backup?.status).toBe("completed");
    return queued.id;
  }

  async function restore(backupId: string, environment?: string, confirm?: string) {
    const { restore: queued } = await requestRestore({ db: handle.db, actor: admin, backupId, input: { environment, confirm } });
    await runJobs();
    return (await getRestore(handle.db, { id: queued.id }))!;
  }

  async function siblings(folder: string): Promise<string[]> {
    const base = path.basename(folder);
    return (await readdir(path.dirname(folder))).filter((name) => name.startsWith(base) && name !== base);
  }

  /** Replaces a stored backup file and its recorded size and SHA-256, as an uploaded file would have them. */
  async function replaceFile(backupId: string, kind: "database" | "volume", bytes: Buffer, { keepChecksum = false } = {}): Promise<void> {
    const [file] = await handle.db
      .select()
      .from(backupFiles)
      .where(sql`${backupFiles.backupId} = ${backupId} and ${backupFiles.kind} = ${kind}`);
    await storage.putObject(file!.storageKey, Readable.from([bytes]));
    if (!keepChecksum) {
      await handle.db
        .update(backupFiles)
        .set({ sizeBytes: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") })
        .where(eq(backupFiles.id, file!.id));
    }
  }

  async function storedFile(backupId: string, kind: "database" | "volume"): Promise<Buffer> {
    const [file] = await handle.db
      .select()
      .from(backupFiles)
      .where(sql`${backupFiles.backupId} = ${backupId} and ${backupFiles.kind} = ${kind}`);
    const chunks: Buffer[] = [];
    for await (const chunk of await storage.getObject(file!.storageKey)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  beforeAll(async () => {
    process.env.NEXTAUTH_SECRET ??= "restore-tests-secret-that-is-long-enough-0123456789";
    handle = await createTestDatabase(kind);
    await seedDemoProject(handle.db);
    root = await mkdtemp(path.join(tmpdir(), "lifeboat-restore-"));
    storage = createStorage({ driver: "local", root: path.join(root, "storage") });
    deps = { db: handle.db, storage, progressIntervalMs: 20, volumeRoots: [root] };
    admin = await actorFor(handle.db, "alice@acme.test", [DEMO_GROUPS.admins]);
    member = await actorFor(handle.db, "mia@acme.test", [DEMO_GROUPS.members]);
    nonprodAdmin = await actorFor(handle.db, "nora@acme.test", [DEMO_GROUPS.nonprodAdmins]);
    createPostgresDatabase(pgDev);
    createMysqlDatabase(myDev);
    await makeVolume(volumes().dev, "dev");
  });

  afterAll(async () => {
    for (const name of postgresDatabases(`lb_rs_%_${suffix}%`)) psql("postgres", `drop database if exists "${name}" with (force)`);
    for (const name of mysqlDatabases(`lb_rs_%_${suffix}%`)) mysql(`drop database if exists \`${name}\``);
    await handle?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  beforeEach(async () => {
    await handle.db.delete(jobs).where(sql`true`);
    await handle.db.execute(sql`delete from environment_locks`);
  });

  it("PostgreSQL round trip: every table's rows and every file's bytes are back, nothing is left beside them", async () => {
    const dev = await pgEnv("dev", pgDev, volumes().dev);
    const tablesBefore = postgresSnapshot(pgDev);
    const filesBefore = await folderSnapshot(volumes().dev);
    const backupId = await backupOf(dev);

    // Change everything a restore must undo.
    psql(
      pgDev,
      `delete from accounts where id > 250; update accounts set note = 'changed' where id = 1; insert into blobs values (99, null, null);
                 drop table "MixedCase"; create table added_later (id int); select nextval('accounts_id_seq');`,
    );
    await writeFile(path.join(volumes().dev, "0/12/a.txt"), "overwritten\n");
    await writeFile(path.join(volumes().dev, "new-file.txt"), "added after the backup\n");
    await rm(path.join(volumes().dev, "deep"), { recursive: true });
    // A session on the live database, as the application would hold one: the swap ends it.
    const idle = execFileSync("bash", ["-c", `(psql -X -h ${PG.host} -U ${PG.user} -d ${pgDev} -c 'select pg_sleep(60)' >/dev/null 2>&1 &) ; echo started`], {
      encoding: "utf8",
    });
    expect(idle.trim()).toBe("started");
    expect(postgresSnapshot(pgDev)).not.toEqual(tablesBefore);

    const restored = await restore(backupId);
    expect(restored.statusReason).toBeNull();
    expect(restored).toMatchObject({ status: "completed", stage: "Restored" });
    expect(restored.progressBytes).toBe(restored.totalBytes);
    expect(restored.totalBytes).toBeGreaterThan(0);

    expect(postgresSnapshot(pgDev)).toEqual(tablesBefore);
    expect(await folderSnapshot(volumes().dev)).toEqual(filesBefore);
    expect(postgresDatabases(`${pgDev}_lb%`)).toEqual([]);
    expect(await siblings(volumes().dev)).toEqual([]);
    expect(await getEnvironmentLock(handle.db, { environmentId: dev.id })).toBeUndefined();

    const backup = await getBackup(handle.db, { id: backupId });
    expect(backup).toMatchObject({ restoreStatus: "completed", restoreResult: expect.stringMatching(/^Restored into acme-dev on .* UTC by alice@acme\.test/) });
    const audit = await listAuditEvents(handle.db, { environmentId: dev.id });
    expect(audit.filter((e) => e.detail.restoreId === restored.id).map((e) => e.action)).toEqual(["backup.restore", "backup.restore_requested"]);
    expect(audit.find((e) => e.action === "backup.restore")?.detail).toMatchObject({ backupId, target: "acme-dev", bytes: restored.totalBytes });

    const json = toRestoreJson(restored, dev);
    expect(json).toMatchObject({ id: restored.id, backup_id: backupId, project: "acme", environment: "dev", status: "completed", created_by: admin.email });
    expect(json.progress).toEqual({ bytes: restored.totalBytes, total_bytes: restored.totalBytes });
  });

  it("restores into another environment of the project: its own database and folder, the source untouched", async () => {
    const dev = await pgEnv("dev", pgDev, volumes().dev);
    psql("postgres", `create database ${pgUat}`);
    psql(pgUat, "create table leftover (id int); insert into leftover values (1);");
    // What marks a database (the demo's are marked so) is not in a plain dump: the restore keeps it.
    psql("postgres", `comment on database ${pgUat} is 'Lifeboat demo database of acme-uat'`);
    await makeVolume(volumes().uat, "uat");
    await pgEnv("uat", pgUat, volumes().uat);
    const backupId = await backupOf(dev);
    const devTables = postgresSnapshot(pgDev);
    const devFiles = await folderSnapshot(volumes().dev);

    const restored = await restore(backupId, "uat");
    expect(restored.statusReason).toBeNull();
    expect(restored.status).toBe("completed");
    expect(postgresSnapshot(pgUat)).toEqual(devTables);
    expect(psql("postgres", `select shobj_description(oid, 'pg_database') from pg_database where datname = '${pgUat}'`)).toBe(
      "Lifeboat demo database of acme-uat",
    );
    expect(await folderSnapshot(volumes().uat)).toEqual(devFiles);
    expect(postgresSnapshot(pgDev)).toEqual(devTables);
    expect(await folderSnapshot(volumes().dev)).toEqual(devFiles);
    expect(await siblings(volumes().uat)).toEqual([]);
    expect(postgresDatabases(`${pgUat}_lb%`)).toEqual([]);
  });

  it("MariaDB round trip: Pascal-case tables, foreign keys and binary columns identical afterwards", async () => {
    const dev = await myEnv("dev", myDev, volumes().dev);
    const before = mysqlSnapshot(myDev);
    expect(Object.keys(before)).toContain("User_");
    const backupId = await backupOf(dev);

    mysql(
      `set foreign_key_checks = 0; delete from AssetEntry where entryId = 11; update User_ set screenName = 'changed'; drop table User_; create table Added (id int);`,
      myDev,
    );
    expect(mysqlSnapshot(myDev)).not.toEqual(before);

    const restored = await restore(backupId);
    expect(restored.statusReason).toBeNull();
    expect(restored.status).toBe("completed");
    expect(mysqlSnapshot(myDev)).toEqual(before);
    expect(mysql(`select constraint_name from information_schema.referential_constraints where constraint_schema = '${myDev}'`)).toBe("fk_user");
    expect(mysqlDatabases(`${myDev}_lb%`)).toEqual([]);
    expect(await siblings(volumes().dev)).toEqual([]);
  });

  it("a corrupt database.gz (cut short, or one byte flipped) fails and leaves the environment exactly as it was", async () => {
    const dev = await pgEnv("dev", pgDev, volumes().dev);
    const backupId = await backupOf(dev);
    psql(pgDev, "insert into blobs values (1000, null, null)");
    await writeFile(path.join(volumes().dev, "changed-after-backup.txt"), "still here\n");
    const tables = postgresSnapshot(pgDev);
    const files = await folderSnapshot(volumes().dev);
    const good = await storedFile(backupId, "database");

    const truncated = good.subarray(0, Math.floor(good.length * 0.6));
    const flipped = Buffer.from(good);
    flipped[Math.floor(flipped.length / 2)]! ^= 0x5a;
    for (const [bytes, keepChecksum] of [
      [truncated, false],
      [flipped, true],
    ] as const) {
      await replaceFile(backupId, "database", bytes, { keepChecksum });
      const failed = await restore(backupId);
      expect(failed.status).toBe("failed");
      expect(failed.statusReason).toMatch(/database\.gz (is not a valid gzip file|does not match the SHA-256)/);
      expect(failed.statusReason).toMatch(/Nothing was restored/);
      expect(postgresSnapshot(pgDev)).toEqual(tables);
      expect(await folderSnapshot(volumes().dev)).toEqual(files);
      expect(postgresDatabases(`${pgDev}_lb%`)).toEqual([]);
      expect(await siblings(volumes().dev)).toEqual([]);
      expect(await getEnvironmentLock(handle.db, { environmentId: dev.id })).toBeUndefined();
      expect((await getBackup(handle.db, { id: backupId }))?.restoreStatus).toBe("failed");
    }
    const audit = await listAuditEvents(handle.db, { environmentId: dev.id });
    expect(audit[0]).toMatchObject({
      action: "backup.restore_failed",
      backupId,
      detail: expect.objectContaining({ reason: expect.stringMatching(/database\.gz/) }),
    });

    // A good database.gz with a cut-short volume.tgz: the database half, loaded meanwhile, is thrown away too.
    await replaceFile(backupId, "database", good);
    const volume = await storedFile(backupId, "volume");
    await replaceFile(backupId, "volume", volume.subarray(0, Math.floor(volume.length / 2)));
    const failed = await restore(backupId);
    expect(failed.statusReason).toMatch(
      /^volume\.tgz is not a valid gzip file: .*\(the file is cut short\)\. Nothing was restored; the environment is unchanged\.$/,
    );
    expect(postgresSnapshot(pgDev)).toEqual(tables);
    expect(await folderSnapshot(volumes().dev)).toEqual(files);
    expect(postgresDatabases(`${pgDev}_lb%`)).toEqual([]);
    expect(await siblings(volumes().dev)).toEqual([]);
  });

  it("a gzip bomb (database.gz or volume.tgz) fails the restore before the swap, naming the setting, and changes nothing", async () => {
    const dev = await pgEnv("dev", pgDev, volumes().dev);
    const backupId = await backupOf(dev);
    psql(pgDev, "insert into blobs values (3000, null, null)");
    const tables = postgresSnapshot(pgDev);
    const files = await folderSnapshot(volumes().dev);
    const good = { database: await storedFile(backupId, "database"), volume: await storedFile(backupId, "volume") };
    const advice = "If the file is genuine, an administrator of the Lifeboat server can raise MAX_EXPANSION_RATIO (0 turns the limit off).";
    const saved = deps.expansion;
    // The shipped defaults, MAX_EXPANDED_SIZE=4TiB and MAX_EXPANSION_RATIO=200.
    deps.expansion = { maxBytes: 4 * 1024 ** 4, maxRatio: 200 };
    try {
      for (const [kind, bomb, name] of [
        ["database", gzipBombDump(), "database.gz"],
        ["volume", gzipBombVolume(), "volume.tgz"],
      ] as const) {
        await replaceFile(backupId, kind, bomb);
        const failed = await restore(backupId);
        expect(failed.status).toBe("failed");
        expect(failed.statusReason).toBe(
          `${name} expands to more than 200× its size (MAX_EXPANSION_RATIO), which is how a gzip bomb looks. ${advice} Nothing was restored; the environment is unchanged.`,
        );
        expect(failed.stage).not.toBe("Swapping in the restored database and document library");
        expect(postgresSnapshot(pgDev)).toEqual(tables);
        expect(await folderSnapshot(volumes().dev)).toEqual(files);
        expect(postgresDatabases(`${pgDev}_lb%`)).toEqual([]);
        expect(await siblings(volumes().dev)).toEqual([]);
        expect(await getEnvironmentLock(handle.db, { environmentId: dev.id })).toBeUndefined();
        await replaceFile(backupId, kind, good[kind]);
      }
      // The same backup with its own files restores under the same limits.
      const restored = await restore(backupId);
      expect(restored.statusReason).toBeNull();
      expect(restored.status).toBe("completed");
    } finally {
      deps.expansion = saved;
    }
  });

  it("a SQL error while loading fails with psql's words and changes nothing", async () => {
    const dev = await pgEnv("dev", pgDev, volumes().dev);
    const backupId = await backupOf(dev);
    const tables = postgresSnapshot(pgDev);
    await replaceFile(backupId, "database", gz("create table fine (id int);\nthis is not sql;\n"));
    const failed = await restore(backupId);
    expect(failed.status).toBe("failed");
    expect(failed.statusReason).toMatch(/^psql exited with code 3: .*syntax error at or near "this"/);
    expect(postgresSnapshot(pgDev)).toEqual(tables);
    expect(postgresDatabases(`${pgDev}_lb%`)).toEqual([]);
  });

  it("never runs client commands a dump carries (psql \\!, mysql system): the restore fails and nothing runs", async () => {
    const marker = path.join(root, "pwned");
    const dev = await pgEnv("dev", pgDev, volumes().dev);
    const pgBackup = await backupOf(dev);
    await replaceFile(pgBackup, "database", gz(`create table fine (id int);\nselect 1; \\! touch ${marker}\n`));
    const pgFailed = await restore(pgBackup);
    expect(pgFailed.statusReason).toMatch(/^database\.gz contains the psql client command "\\\\! touch /);
    // The document library was being extracted when the database failed: its staging folder is gone too.
    expect(await siblings(volumes().dev)).toEqual([]);
    const myEnvironment = await myEnv("dev", myDev, volumes().dev);
    const myBackup = await backupOf(myEnvironment);
    await replaceFile(myBackup, "database", gz(`create table fine (id int);\nsystem touch ${marker}\n`));
    const myFailed = await restore(myBackup);
    expect(myFailed.statusReason).toMatch(/^database\.gz contains the mysql client command "system touch /);
    expect(await siblings(volumes().dev)).toEqual([]);
    expect(await exists(marker)).toBe(false);
    expect(postgresDatabases(`${pgDev}_lb%`)).toEqual([]);
    expect(mysqlDatabases(`${myDev}_lb%`)).toEqual([]);
  });

  it("never runs the psql commands that hid from the guard's first reading: after a dollar quote glued to a number, a comment ended by \\r, a COPY inside parentheses", async () => {
    const marker = path.join(root, "pwned-psql");
    const dev = await pgEnv("dev", pgDev, volumes().dev);
    const backupId = await backupOf(dev);
    const tables = postgresSnapshot(pgDev);
    for (const [dump, reason] of [
      [`create table fine (id int);\nSELECT 1$$ /* $$ \\! touch ${marker}\n*/;\n`, /^database\.gz contains the psql client command "\\\\! touch /],
      [`create table fine (id int);\nSELECT 2 -- note\r\\! touch ${marker}\n;\n`, /^database\.gz contains the psql client command "\\\\! touch /],
      [
        `create table fine (id int);\nSELECT (1;\nCOPY fine FROM stdin;\n\\! touch ${marker}\n2);\n`,
        /^database\.gz contains the psql client command "\\\\! touch /,
      ],
    ] as const) {
      await replaceFile(backupId, "database", gz(dump));
      const failed = await restore(backupId);
      expect(failed.status).toBe("failed");
      expect(failed.statusReason).toMatch(reason);
      expect(await exists(marker)).toBe(false);
      expect(postgresSnapshot(pgDev)).toEqual(tables);
      expect(postgresDatabases(`${pgDev}_lb%`)).toEqual([]);
    }
  });

  it("a volume.tgz with a ../ entry fails, writes nothing outside, and leaves the folder and database unchanged", async () => {
    const dev = await pgEnv("dev", pgDev, volumes().dev);
    const backupId = await backupOf(dev);
    psql(pgDev, "insert into blobs values (2000, null, null)");
    const tables = postgresSnapshot(pgDev);
    const files = await folderSnapshot(volumes().dev);
    const outside = await readdir(root);
    await replaceFile(
      backupId,
      "volume",
      gz(
        rawTar([
          { path: "document_library/", type: "Directory" },
          { path: "document_library/ok.txt", body: "fine" },
          { path: "document_library/../evil", body: "escaped" },
          { path: "document_library/../../evil2", body: "escaped" },
        ]),
      ),
    );
    const failed = await restore(backupId);
    expect(failed.status).toBe("failed");
    expect(failed.statusReason).toBe(
      'volume.tgz has an unsafe entry "document_library/../evil": it contains “..”. Nothing was restored; the environment is unchanged.',
    );
    expect(await folderSnapshot(volumes().dev)).toEqual(files);
    expect(postgresSnapshot(pgDev)).toEqual(tables);
    expect(await readdir(root)).toEqual(outside);
    expect(await readdir(path.dirname(volumes().dev))).toEqual(["document_library"]);
    expect(await exists(path.join(root, "evil2"))).toBe(false);
    expect(await exists(path.join(path.dirname(root), "evil2"))).toBe(false);
    expect(postgresDatabases(`${pgDev}_lb%`)).toEqual([]);
    expect(await getEnvironmentLock(handle.db, { environmentId: dev.id })).toBeUndefined();
  });

  it("renames and replaces nothing outside the volume roots, whatever the target's row says", async () => {
    const dev = await pgEnv("dev", pgDev, volumes().dev);
    const backupId = await backupOf(dev);
    // A target whose folder lies outside the roots (a row written past the settings' checks): the restore stops before it.
    const outside = await mkdtemp(path.join(tmpdir(), "lifeboat-restore-outside-"));
    try {
      await writeFile(path.join(outside, "precious.txt"), "not the environment's\n");
      const target = `lb_rs_out_${suffix}`;
      createPostgresDatabase(target);
      await pgEnv("uat", target, path.join(outside, "document_library"));
      const tables = postgresSnapshot(target);
      const failed = await restore(backupId, "uat");
      expect(failed.status).toBe("failed");
      expect(failed.statusReason).toMatch(/^acme-uat's volume folder must be a folder inside one of the volume roots/);
      expect(await readdir(outside)).toEqual(["precious.txt"]);
      expect(postgresSnapshot(target)).toEqual(tables);
      expect(postgresDatabases(`${target}_lb%`)).toEqual([]);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it("refuses a backup from a newer server before touching anything", async () => {
    const dev = await pgEnv("dev", pgDev, volumes().dev);
    const backupId = await backupOf(dev);
    const backup = await getBackup(handle.db, { id: backupId });
    await handle.db
      .update(backups)
      .set({ manifest: { ...backup!.manifest!, database: { ...backup!.manifest!.database, serverVersion: "99.0" } } })
      .where(eq(backups.id, backupId));
    const failed = await restore(backupId);
    expect(failed.status).toBe("failed");
    expect(failed.statusReason).toMatch(
      /^This backup comes from PostgreSQL 99 \(99\.0\), but the target server runs PostgreSQL 1\d .*upgrade the target server first\.$/,
    );
    expect(failed.progressBytes).toBe(0);
    expect(postgresDatabases(`${pgDev}_lb%`)).toEqual([]);
  });

  it("checks permissions, the backup, the target and the production confirmation before queueing anything", async () => {
    const dev = await pgEnv("dev", pgDev, volumes().dev);
    const backupId = await backupOf(dev);
    const ask = (actor: Actor, input: { environment?: string; confirm?: string }, id = backupId) =>
      codeOf(requestRestore({ db: handle.db, actor, backupId: id, input }));

    expect(await ask(member, {})).toMatch(/^403 Only administrators of acme-dev may restore/);
    expect(await ask(admin, {}, "acme-nosuchbackup-202401010000")).toMatch(/^404 /);
    expect(await ask(admin, { environment: "nope" })).toMatch(/^404 There is no environment acme-nope/);
    await configure("uat", { dbEngine: null, dbHost: null, dbName: null, dbUser: null, volumePath: null });
    expect(await ask(admin, { environment: "uat" })).toMatch(/^422 acme-uat has no database connection .* and no volume folder configured/);
    await myEnv("uat", "whatever", volumes().uat);
    expect(await ask(admin, { environment: "uat" })).toMatch(/^422 Backup .* holds a postgresql database, but acme-uat runs mysql/);

    // Production: the name typed exactly, nothing else.
    const prd = await pgEnv("prd", `lb_rs_prd_${suffix}`, volumes().prd);
    expect(await ask(admin, { environment: "prd" })).toMatch(/^422 acme-prd is a production environment: .*send "confirm": "prd"/);
    expect(await ask(admin, { environment: "prd", confirm: "PRD" })).toMatch(/^422 /);
    expect(await ask(nonprodAdmin, { environment: "prd", confirm: "prd" })).toMatch(/^403 Only administrators of acme-prd/);
    expect(await getEnvironmentLock(handle.db, { environmentId: prd.id })).toBeUndefined();

    // A prd backup may not be read, so not restored, by someone who administers only the target.
    const [prdBackup] = await handle.db
      .insert(backups)
      .values({
        id: "acme-prdbackupxx-202401010000",
        environmentId: prd.id,
        origin: "manual",
        status: "completed",
        dbEngine: "postgresql",
        createdBy: "x@acme.test",
      })
      .returning();
    expect(await ask(nonprodAdmin, { environment: "dev" }, prdBackup!.id)).toMatch(/^403 You may not read backups of acme-prd/);
    expect(await ask(admin, { environment: "dev" }, prdBackup!.id)).toMatch(/^422 Backup acme-prdbackupxx-202401010000 does not have both/);
    await handle.db.update(backups).set({ status: "running" }).where(eq(backups.id, prdBackup!.id));
    expect(await ask(admin, { environment: "dev" }, prdBackup!.id)).toMatch(/^422 Backup acme-prdbackupxx-202401010000 is running; only a completed backup/);

    const ok = await requestRestore({ db: handle.db, actor: admin, backupId, input: { environment: "prd", confirm: "prd" } });
    expect(ok.restore).toMatchObject({ status: "queued", environmentId: prd.id, backupId, createdBy: admin.email, createdByType: "user" });
    expect(await getEnvironmentLock(handle.db, { environmentId: prd.id })).toMatchObject({ operation: "restore", backupId });
    expect((await getBackup(handle.db, { id: backupId }))?.restoreStatus).toBe("queued");
    expect((await handle.db.select().from(jobs).where(eq(jobs.queue, RESTORE_QUEUE)))[0]).toMatchObject({
      maxAttempts: 1,
      payload: { restoreId: ok.restore.id },
    });
  });

  it("answers 409 while the environment is busy with a backup, an upload or another restore", async () => {
    const dev = await pgEnv("dev", pgDev, volumes().dev);
    const backupId = await backupOf(dev);
    const first = await requestRestore({ db: handle.db, actor: admin, backupId, input: {} });
    const second = await codeOf(requestRestore({ db: handle.db, actor: admin, backupId, input: {} }));
    expect(second).toMatch(new RegExp(`^409 acme-dev is busy: a restore of ${backupId} started by alice@acme\\.test is running`));
    expect(await codeOf(requestBackup({ db: handle.db, actor: admin, environment: dev, input: {} }))).toMatch(/^409 acme-dev is busy: a restore/);
    await handle.db.delete(jobs).where(eq(jobs.id, (await handle.db.select().from(jobs))[0]!.id));
    await handle.db.execute(sql`delete from environment_locks`);
    await handle.db.execute(sql`update restores set status = 'failed' where id = ${first.restore.id}`);

    await acquireEnvironmentLock(handle.db, {
      environmentId: dev.id,
      operation: "upload",
      holder: "upload:00000000-0000-0000-0000-000000000000:x",
      ttlMs: 60_000,
    });
    expect(await codeOf(requestRestore({ db: handle.db, actor: admin, backupId, input: {} }))).toMatch(
      /^409 acme-dev is busy: a backup is being generated from an upload/,
    );
  });

  it("a restore whose worker dies ends failed, its lock released and its staged copies removed", async () => {
    const dev = await pgEnv("dev", pgDev, volumes().dev);
    const backupId = await backupOf(dev);
    const tables = postgresSnapshot(pgDev);
    const files = await folderSnapshot(volumes().dev);
    const { restore: queued } = await requestRestore({ db: handle.db, actor: admin, backupId, input: {} });
    const short = restoreShortId(queued.id);
    const { job, swept } = await workerDiesThenSweep({
      db: handle.db,
      queue: RESTORE_QUEUE,
      handlers: { [RESTORE_QUEUE]: createRestoreJobHandler(deps) },
      // The worker got as far as staging both halves, then died.
      meanwhile: async () => {
        await handle.db.execute(sql`update restores set status = 'running' where id = ${queued.id}`);
        psql("postgres", `create database ${pgDev}_lbstage_${short}`);
        await mkdir(path.join(`${volumes().dev}.lbstage-${short}`, "document_library"), { recursive: true });
      },
    });
    expect(job).toBeDefined();

    expect(swept).toBe(1);
    expect(await getRestore(handle.db, { id: queued.id })).toMatchObject({ status: "failed", statusReason: ABANDONED_RESTORE_REASON });
    expect(await getEnvironmentLock(handle.db, { environmentId: dev.id })).toBeUndefined();
    expect((await handle.db.select().from(jobs).where(eq(jobs.id, job.id)))[0]?.status).toBe("failed");
    expect(postgresDatabases(`${pgDev}_lb%`)).toEqual([]);
    expect(await siblings(volumes().dev)).toEqual([]);
    expect(postgresSnapshot(pgDev)).toEqual(tables);
    expect(await folderSnapshot(volumes().dev)).toEqual(files);
    expect((await getBackup(handle.db, { id: backupId }))?.restoreStatus).toBe("failed");
  });

  it("a worker that died between the database swap and the folder swap is undone: the previous database is back", async () => {
    const dev = await pgEnv("dev", pgDev, volumes().dev);
    const backupId = await backupOf(dev);
    const tables = postgresSnapshot(pgDev);
    const { restore: queued } = await requestRestore({ db: handle.db, actor: admin, backupId, input: {} });
    const short = restoreShortId(queued.id);
    await workerDiesThenSweep({
      db: handle.db,
      queue: RESTORE_QUEUE,
      handlers: { [RESTORE_QUEUE]: createRestoreJobHandler(deps) },
      // As after `swap`: the live database kept as <db>_lbold_<id>, a restored one (here: empty) in its place.
      meanwhile: async () => {
        psql("postgres", `alter database ${pgDev} rename to ${pgDev}_lbold_${short}`);
        psql("postgres", `create database ${pgDev}`);
      },
    });
    expect((await getRestore(handle.db, { id: queued.id }))?.status).toBe("failed");
    expect(postgresSnapshot(pgDev)).toEqual(tables);
    expect(postgresDatabases(`${pgDev}_lb%`)).toEqual([]);
  });
  it("a worker that died after recording the restore completed, while removing the previous copies, has them removed by the sweep", async () => {
    const dev = await pgEnv("dev", pgDev, volumes().dev);
    const backupId = await backupOf(dev);
    const { restore: queued } = await requestRestore({ db: handle.db, actor: admin, backupId, input: {} });
    const short = restoreShortId(queued.id);
    await workerDiesThenSweep({
      db: handle.db,
      queue: RESTORE_QUEUE,
      handlers: { [RESTORE_QUEUE]: createRestoreJobHandler(deps) },
      // As after both swaps and the completed record: the previous database and folder are still beside the live ones.
      meanwhile: async () => {
        await handle.db.execute(sql`update restores set status = 'completed', completed_at = now() where id = ${queued.id}`);
        psql("postgres", `create database ${pgDev}_lbold_${short}`);
        await mkdir(path.join(`${volumes().dev}.lbold-${short}`, "document_library"), { recursive: true });
      },
    });
    expect((await getRestore(handle.db, { id: queued.id }))?.status).toBe("completed");
    expect(postgresDatabases(`${pgDev}_lb%`)).toEqual([]);
    expect(await siblings(volumes().dev)).toEqual([]);
    expect(await getEnvironmentLock(handle.db, { environmentId: dev.id })).toBeUndefined();
  });
});
