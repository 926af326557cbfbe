import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Transform } from "node:stream";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import { createGunzip } from "node:zlib";

import { asc, eq, inArray } from "drizzle-orm";
import postgres from "postgres";
import { t as listTar } from "tar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { BACKUP_ID_PATTERN, parseBackupId } from "@/lib/backups/backup-id";
import type { DbHandle } from "@/lib/db/client";
import { backupFiles, backups, environments } from "@/lib/db/schema";
import type { Backup, BackupFile } from "@/lib/db/schema";
import { seedDemoProject } from "@/lib/db/seed";
import { createTestDatabase, DATABASE_KINDS, TEST_POSTGRES_URL } from "@/lib/db/testing";
import { createStorage } from "@/lib/storage";
import type { Storage } from "@/lib/storage";

import { seedDemoBackups } from "./seed-demo-backups";

const run = promisify(execFile);
const NOW = new Date("2025-03-14T12:34:56.789Z");
const DAY_MS = 24 * 60 * 60 * 1000;

/** Reads an object back as a stream, hashing the stored bytes on the way. */
async function readObject(storage: Storage, key: string, sink: (source: Readable) => Promise<void>): Promise<string> {
  const hash = createHash("sha256");
  const hasher = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  const source = await storage.getObject(key);
  await Promise.all([pipeline(source, hasher), sink(hasher)]);
  return hash.digest("hex");
}

async function readGunzipped(storage: Storage, key: string): Promise<{ sha256: string; text: string }> {
  const chunks: Buffer[] = [];
  const sha256 = await readObject(storage, key, async (source) => {
    const gunzip = createGunzip();
    gunzip.on("data", (chunk: Buffer) => chunks.push(chunk));
    await pipeline(source, gunzip);
  });
  return { sha256, text: Buffer.concat(chunks).toString("utf8") };
}

interface TarEntry {
  path: string;
  type: string;
  size: number;
  head: Buffer;
}

async function listTarStream(source: Readable): Promise<TarEntry[]> {
  const entries: TarEntry[] = [];
  const parser = listTar({
    onReadEntry: (entry) => {
      const head: Buffer[] = [];
      entry.on("data", (chunk: Buffer) => {
        if (head.length === 0) head.push(chunk.subarray(0, 16));
      });
      entries.push({
        path: entry.path,
        type: entry.type,
        size: entry.size,
        get head() {
          return head[0] ?? Buffer.alloc(0);
        },
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    parser.on("end", () => resolve());
    parser.on("error", reject);
    source.on("error", reject);
    source.pipe(parser);
  });
  return entries;
}

async function listTarObject(storage: Storage, key: string): Promise<{ sha256: string; entries: TarEntry[] }> {
  let entries: TarEntry[] = [];
  const sha256 = await readObject(storage, key, async (source) => {
    entries = await listTarStream(source);
  });
  return { sha256, entries };
}

async function backupsOf(handle: DbHandle, environment: string): Promise<(Backup & { files: BackupFile[] })[]> {
  const rows = await handle.db
    .select({ backup: backups })
    .from(backups)
    .innerJoin(environments, eq(backups.environmentId, environments.id))
    .where(eq(environments.name, environment))
    .orderBy(asc(backups.createdAt));
  const ids = rows.map((r) => r.backup.id);
  const files = ids.length ? await handle.db.select().from(backupFiles).where(inArray(backupFiles.backupId, ids)) : [];
  return rows.map(({ backup }) => ({ ...backup, files: files.filter((f) => f.backupId === backup.id) }));
}

function fileOf(backup: { files: BackupFile[] }, kind: BackupFile["kind"]): BackupFile {
  const file = backup.files.find((f) => f.kind === kind);
  if (!file) throw new Error(`no ${kind} file`);
  return file;
}

async function countObjects(storage: Storage): Promise<number> {
  let n = 0;
  for await (const _ of storage.list("backups/")) n++;
  return n;
}

describe.each(DATABASE_KINDS)("seedDemoBackups on %s", (kind) => {
  let handle: DbHandle;
  let root: string;
  let storage: Storage;
  let firstRun: { created: number };

  beforeAll(async () => {
    handle = await createTestDatabase(kind);
    root = await mkdtemp(path.join(os.tmpdir(), "lifeboat-demo-test-"));
    storage = createStorage({ driver: "local", root });
    await seedDemoProject(handle.db);
    firstRun = await seedDemoBackups({ db: handle.db, storage, now: NOW });
  });

  afterAll(async () => {
    await handle?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("gives prd three completed backups and a failed one, uat two and dev one", async () => {
    expect(firstRun.created).toBe(7);
    const prd = await backupsOf(handle, "prd");
    expect(prd.map((b) => b.status).sort()).toEqual(["completed", "completed", "completed", "failed"]);
    expect(
      prd
        .filter((b) => b.status === "completed")
        .map((b) => b.origin)
        .sort(),
    ).toEqual(["manual", "scheduled", "uploaded"]);
    expect(prd.find((b) => b.status === "failed")?.origin).toBe("scheduled");
    expect((await backupsOf(handle, "uat")).map((b) => b.status)).toEqual(["completed", "completed"]);
    expect((await backupsOf(handle, "dev")).map((b) => b.status)).toEqual(["completed"]);
  });

  it("dates every backup in the last days, to the millisecond, with IDs from its creation time", async () => {
    const all = [...(await backupsOf(handle, "prd")), ...(await backupsOf(handle, "uat")), ...(await backupsOf(handle, "dev"))];
    expect(new Set(all.map((b) => b.id)).size).toBe(7);
    for (const b of all) {
      expect(b.id).toMatch(BACKUP_ID_PATTERN);
      const parsed = parseBackupId(b.id);
      expect(parsed?.projectId).toBe("acme");
      expect(parsed?.createdAt.getTime()).toBe(Math.floor(b.createdAt.getTime() / 60_000) * 60_000);
      expect(b.createdAt.getTime()).toBeLessThan(NOW.getTime());
      expect(b.createdAt.getTime()).toBeGreaterThan(NOW.getTime() - 8 * DAY_MS);
      expect(b.startedAt!.getTime()).toBeGreaterThan(b.createdAt.getTime());
      expect(b.completedAt!.getTime()).toBeGreaterThan(b.startedAt!.getTime());
    }
    // The column is timestamp(3): milliseconds must survive the round trip, not be rounded away.
    expect(all.filter((b) => b.createdAt.getUTCMilliseconds() !== 0).length).toBe(7);
  });

  it("creates nothing the second time, in the database or in storage", async () => {
    const objects = await countObjects(storage);
    expect(objects).toBe(12);
    expect(await seedDemoBackups({ db: handle.db, storage, now: new Date() })).toEqual({ created: 0 });
    expect((await backupsOf(handle, "prd")).length).toBe(4);
    expect((await backupsOf(handle, "uat")).length).toBe(2);
    expect((await backupsOf(handle, "dev")).length).toBe(1);
    expect(await countObjects(storage)).toBe(objects);
  });

  it("describes every completed backup's two stored files alike in its rows and its manifest", async () => {
    const completed = [...(await backupsOf(handle, "prd")), ...(await backupsOf(handle, "uat")), ...(await backupsOf(handle, "dev"))].filter(
      (b) => b.status === "completed",
    );
    expect(completed).toHaveLength(6);
    for (const b of completed) {
      expect(b.verifyStatus).toBe("passed");
      expect(b.dbEngine).toBe("postgresql");
      expect(b.files.map((f) => [f.kind, f.fileName, f.storageKey]).sort()).toEqual([
        ["database", "database.gz", `backups/${b.id}/database.gz`],
        ["volume", "volume.tgz", `backups/${b.id}/volume.tgz`],
      ]);
      for (const f of b.files) {
        expect((await storage.stat(f.storageKey))?.size).toBe(f.sizeBytes);
        expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);
        // Tens to a few hundred KB: real enough to open, quick enough to seed on every start.
        expect(f.sizeBytes).toBeGreaterThan(5_000);
        expect(f.sizeBytes).toBeLessThan(500_000);
      }
      const total = b.files.reduce((sum, f) => sum + f.sizeBytes, 0);
      expect(b.totalBytes).toBe(total);
      expect(b.progressBytes).toBe(total);
      expect(b.manifest).toMatchObject({
        version: 1,
        backupId: b.id,
        createdAt: b.createdAt.toISOString(),
        createdBy: b.createdBy,
        origin: b.origin,
        parentId: null,
        database: {
          engine: "postgresql",
          serverVersion: expect.stringMatching(/^15\.\d+$/),
          dumpTool: expect.stringMatching(/^pg_dump \(PostgreSQL\) 15\.\d+$/),
        },
      });
      expect(b.manifest?.files.map((f) => [f.kind, f.name, f.size, f.sha256]).sort()).toEqual(
        b.files.map((f) => [f.kind, f.fileName, f.sizeBytes, f.sha256]).sort(),
      );
    }
    // Every backup holds its own data, not copies of one file.
    expect(new Set(completed.map((b) => fileOf(b, "database").sha256)).size).toBe(6);
    expect(new Set(completed.map((b) => fileOf(b, "volume").sha256)).size).toBe(6);
  });

  it("stores database.gz as a gzip'd PostgreSQL dump with lower-case Liferay tables", async () => {
    const backup = (await backupsOf(handle, "prd")).findLast((b) => b.status === "completed");
    expect(backup).toBeDefined();
    const file = fileOf(backup!, "database");
    const { sha256, text } = await readGunzipped(storage, file.storageKey);
    expect(sha256).toBe(file.sha256);
    expect(backup!.manifest?.files.find((f) => f.kind === "database")?.sha256).toBe(sha256);

    expect(text.startsWith("--\n-- PostgreSQL database dump\n--\n")).toBe(true);
    expect(text.trimEnd().endsWith("-- PostgreSQL database dump complete\n--")).toBe(true);
    const tables = [...text.matchAll(/^CREATE TABLE public\.(\S+) \($/gm)].map((m) => m[1]);
    expect(tables).toEqual(expect.arrayContaining(["user_", "group_", "journalarticle", "dlfileentry"]));
    for (const table of tables) expect(table).toMatch(/^[a-z][a-z0-9_]*$/);
    const copyRows = [...text.matchAll(/^COPY public\.\S+ \(.*\) FROM stdin;\n([\s\S]*?)^\\\.$/gm)].reduce(
      (sum, m) => sum + (m[1]?.split("\n").filter(Boolean).length ?? 0),
      0,
    );
    expect(copyRows).toBeGreaterThan(150);
  });

  it("stores volume.tgz as a tar.gz of document_library/ with nothing outside it", async () => {
    const backup = (await backupsOf(handle, "uat")).at(-1);
    expect(backup?.status).toBe("completed");
    const file = fileOf(backup!, "volume");
    const { sha256, entries } = await listTarObject(storage, file.storageKey);
    expect(sha256).toBe(file.sha256);
    expect(backup!.manifest?.files.find((f) => f.kind === "volume")?.sha256).toBe(sha256);

    expect(entries.length).toBeGreaterThan(5);
    for (const entry of entries) {
      expect(entry.path.startsWith("document_library/")).toBe(true);
      expect(path.isAbsolute(entry.path)).toBe(false);
      expect(entry.path.split("/")).not.toContain("..");
    }
    const files = entries.filter((e) => e.type === "File");
    // Liferay's FileSystemStore layout: <company>/<repository>/<file>/<version>.
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) expect(f.path).toMatch(/^document_library\/\d+\/\d+\/\d+\/1\.\d+$/);
    const png = files.filter((f) => f.head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])));
    expect(png).toHaveLength(1);
    expect(png[0]?.head.subarray(12, 16).toString("latin1")).toBe("IHDR");
  });

  it("records the failed backup with a readable reason and no files anywhere", async () => {
    const failed = (await backupsOf(handle, "prd")).find((b) => b.status === "failed");
    expect(failed?.statusReason).toMatch(/^pg_dump: error: connection to server at "db\.acme\.internal" .* Connection refused$/);
    expect(failed?.files).toEqual([]);
    expect(failed?.manifest).toBeNull();
    expect(failed?.totalBytes).toBeNull();
    expect(failed?.verifyStatus).not.toBe("passed");
    let stored = 0;
    for await (const _ of storage.list(`backups/${failed!.id}/`)) stored++;
    expect(stored).toBe(0);
  });
});

describe("demo backups opened with the system's own tools", () => {
  let handle: DbHandle;
  let root: string;
  let work: string;
  let storage: Storage;
  let backup: Backup & { files: BackupFile[] };

  beforeAll(async () => {
    handle = await createTestDatabase("pglite");
    root = await mkdtemp(path.join(os.tmpdir(), "lifeboat-demo-test-"));
    work = await mkdtemp(path.join(os.tmpdir(), "lifeboat-demo-files-"));
    storage = createStorage({ driver: "local", root });
    await seedDemoProject(handle.db);
    await seedDemoBackups({ db: handle.db, storage, now: NOW });
    const latest = (await backupsOf(handle, "prd")).findLast((b) => b.status === "completed");
    if (!latest) throw new Error("no completed prd backup");
    backup = latest;
  });

  afterAll(async () => {
    await handle?.close();
    for (const dir of [root, work]) if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function download(kind: BackupFile["kind"]): Promise<string> {
    const file = fileOf(backup, kind);
    const target = path.join(work, file.fileName);
    await pipeline(await storage.getObject(file.storageKey), createWriteStream(target));
    return target;
  }

  it("passes gunzip -t and tar -tzf", async () => {
    const database = await download("database");
    await expect(run("gunzip", ["-t", database])).resolves.toBeDefined();
    const volume = await download("volume");
    const { stdout } = await run("tar", ["-tzf", volume]);
    const names = stdout.split("\n").filter(Boolean);
    expect(names.length).toBeGreaterThan(5);
    for (const name of names) expect(name).toMatch(/^document_library\//);
  });

  it("restores with psql, and its document rows name exactly the archive's files", async () => {
    const sqlFile = path.join(work, "database.sql");
    await pipeline(await storage.getObject(fileOf(backup, "database").storageKey), createGunzip(), createWriteStream(sqlFile));

    const name = `lifeboat_demo_restore_${Date.now().toString(36)}`;
    const admin = postgres(TEST_POSTGRES_URL, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    try {
      const url = new URL(TEST_POSTGRES_URL);
      url.pathname = `/${name}`;
      await run("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url.toString(), "-f", sqlFile]);
      const { stdout } = await run("psql", [
        "-X",
        "-At",
        "-d",
        url.toString(),
        "-c",
        "select 'document_library/' || e.companyid || '/' || e.repositoryid || '/' || e.name || '/' || v.version || ' ' || v.size_ " +
          "from dlfileversion v join dlfileentry e on e.fileentryid = v.fileentryid order by 1",
      ]);
      const rows = stdout.split("\n").filter(Boolean);

      const { entries } = await listTarObject(storage, fileOf(backup, "volume").storageKey);
      const archived = entries
        .filter((e) => e.type === "File")
        .map((e) => `${e.path} ${e.size}`)
        .sort();
      expect(rows.length).toBeGreaterThan(5);
      expect(rows.sort()).toEqual(archived);
    } finally {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end({ timeout: 5 });
    }
  });
});
