import { execFile, execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { gunzipSync, gzipSync } from "node:zlib";

import { eq, sql } from "drizzle-orm";
import { x as untar } from "tar";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

import { getBackup } from "@/lib/db/queries/backups";
import { backups, environmentLocks, environments, jobs, restores } from "@/lib/db/schema";

import type { ApiServer } from "./testing/api-server";
import type { ResumeState } from "./download";
import { EXIT } from "./errors";
import { EXIT_INTERRUPTED, main } from "./main";

/*
 * The CLI against the real server code: the byte paths through the Node
 * router and the /api/v1 route modules (lib/cli/testing/api-server.ts), on a
 * real PostgreSQL database that is also the source of a real pg_dump.
 */
vi.mock("next/headers", async () => {
  const { currentHeaders } = await import("./testing/request-headers");
  return { headers: async () => currentHeaders() };
});
vi.mock("next-auth", () => ({ getServerSession: async () => null }));
vi.mock("@/lib/auth/options", () => ({ getAuthOptions: () => ({}) }));

const { startApiServer } = await import("./testing/api-server");

const MiB = 1024 * 1024;
const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** SHA-256 and size: comparing 40 MiB buffers with toEqual walks them key by key and runs out of memory. */
function digest(bytes: Buffer): string {
  return `${bytes.length}:${createHash("sha256").update(bytes).digest("hex")}`;
}

async function fileDigest(file: string): Promise<string> {
  return digest(await readFile(file));
}

/** A map of every entry under `dir`: folders as "dir", files as their digest. */
async function tree(dir: string, prefix = ""): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const rel = path.posix.join(prefix, entry.name);
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      out.set(rel, "dir");
      for (const [k, v] of await tree(full, rel)) out.set(k, v);
    } else out.set(rel, await fileDigest(full));
  }
  return out;
}

/** Polls a query until it returns something: the CLI runs concurrently and creates the row when it gets there. */
async function until<T>(probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error("gave up waiting");
}

function rangesOf(api: ApiServer, from: number, kind: "database" | "volume"): string[] {
  return api.requests
    .slice(from)
    .filter((r) => r.method === "GET" && r.path.startsWith(`/backup/download/${kind}/`) && r.range)
    .map((r) => r.range!);
}

describe("lifeboat CLI against the real server", () => {
  let api: ApiServer;
  let work: string;
  let configDir: string;
  let doclib: string;
  let databaseGz: Buffer;
  let databaseFile: string;
  let backupId: string;

  async function run(
    argv: string[],
    options: { env?: Record<string, string | undefined>; stdin?: Readable; signal?: AbortSignal; tty?: boolean } = {},
  ): Promise<Run> {
    let stdout = "";
    let stderr = "";
    const terminal = new Writable({
      write(chunk, _encoding, callback) {
        stderr += String(chunk);
        callback();
      },
    });
    const code = await main(argv, {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: options.tty ? Object.assign(terminal, { isTTY: true, columns: 120 }) : { write: (s: string) => (stderr += s) },
      stdin: options.stdin as never,
      env: { LIFEBOAT_CONFIG_DIR: configDir, LIFEBOAT_URL: api.baseUrl, LIFEBOAT_TOKEN: api.adminToken, ...options.env },
      cwd: work,
      pollMs: 50,
      retryBaseMs: 5,
      signal: options.signal,
    });
    return { code, stdout, stderr };
  }

  beforeAll(async () => {
    api = await startApiServer({ database: "postgres" });
    work = await mkdtemp(path.join(tmpdir(), "lifeboat-cli-"));
    configDir = path.join(work, "config");

    // A document library with nested folders, binary files, an empty file and an empty folder;
    // one 40 MiB file makes volume.tgz two parts of the server's 32 MiB.
    doclib = path.join(work, "document_library");
    await mkdir(path.join(doclib, "10101", "20202", "deep"), { recursive: true });
    await mkdir(path.join(doclib, "empty-folder"));
    await writeFile(path.join(doclib, "10101", "20202", "1.0"), randomBytes(40 * MiB));
    await writeFile(path.join(doclib, "10101", "20202", "deep", "photo.png"), randomBytes(70_001));
    await writeFile(path.join(doclib, "10101", "readme.txt"), "hello from the document library\n");
    await writeFile(path.join(doclib, "empty.bin"), Buffer.alloc(0));

    // A real pg_dump of the test database the server runs on, with a table of data so the file spans many chunks.
    await api.handle.db.execute(
      sql.raw("create table portal_data as select i as id, md5(i::text) || md5((i * 7)::text) as body from generate_series(1, 40000) as i"),
    );
    databaseGz = gzipSync(execFileSync("pg_dump", ["--no-owner", api.handle.url!], { maxBuffer: 256 * MiB }));
    databaseFile = path.join(work, "database.gz");
    await writeFile(databaseFile, databaseGz);
  }, 120_000);

  afterAll(async () => {
    await api?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("uploads a folder and a dump, then downloads both with concurrency 7 and gets the same bytes", async () => {
    const before = api.requests.length;
    const up = await run([
      "backup",
      "upload",
      "-p",
      "acme",
      "-e",
      "uat",
      "--doclib",
      doclib,
      "--database",
      databaseFile,
      "--concurrency",
      "3",
      "--no-progress",
    ]);
    expect(up.stderr).not.toMatch(/lifeboat: (?!warning)/);
    expect(up.code).toBe(0);
    backupId = up.stdout.trim();
    expect(backupId).toMatch(/^acme-[a-z]+-\d{12}$/);
    const puts = api.requests.slice(before).filter((r) => r.method === "PUT");
    expect(puts.map((r) => r.status)).toEqual([200, 200, 200]); // database.gz: 1 part; volume.tgz: 32 MiB + the rest

    const stored = await getBackup(api.handle.db, { id: backupId });
    expect(stored).toMatchObject({ status: "completed", origin: "uploaded" });

    const start = api.requests.length;
    api.resetPeak();
    const out = path.join(work, "out");
    const down = await run(["backup", "download", "--backupId", backupId, "--concurrency", "7", "--chunk-size", "1MiB", "-o", out, "--no-progress"]);
    expect(down.stderr).toBe("");
    expect(down.code).toBe(0);
    expect(down.stdout.trim().split("\n")).toEqual([path.join(out, "database.gz"), path.join(out, "volume.tgz")]);

    expect(await fileDigest(path.join(out, "database.gz"))).toBe(digest(databaseGz));
    const volumeSize = (await stat(path.join(out, "volume.tgz"))).size;
    expect(rangesOf(api, start, "volume")).toHaveLength(Math.ceil(volumeSize / MiB));
    // Chunks were fetched side by side, never more than --concurrency at once.
    expect(api.rangePeak).toBeGreaterThan(1);
    expect(api.rangePeak).toBeLessThanOrEqual(7);
    const extracted = path.join(work, "extracted");
    await mkdir(extracted);
    await untar({ file: path.join(out, "volume.tgz"), cwd: extracted });
    expect(await readdir(extracted)).toEqual(["document_library"]);
    const got = await tree(path.join(extracted, "document_library"));
    const want = await tree(doclib);
    expect(want.size).toBe(8); // 4 folders (one empty), 4 files (one empty)
    expect(Object.fromEntries(got)).toEqual(Object.fromEntries(want));
    expect(got.get("empty.bin")).toBe(digest(Buffer.alloc(0)));
    // Nothing of the transfer is left behind.
    expect((await readdir(out)).sort()).toEqual(["database.gz", "volume.tgz"]);
  }, 180_000);

  it("resumes an interrupted download by fetching only the chunks it did not finish", async () => {
    const out = path.join(work, "resume");
    const controller = new AbortController();
    let served = 0;
    api.intercept = (req) => {
      if (req.method === "GET" && req.headers.range && req.url?.startsWith("/backup/download/volume/") && ++served === 12) controller.abort();
      return false;
    };
    const first = await run(
      ["backup", "download", "--backupId", backupId, "--doclib", "--concurrency", "3", "--chunk-size", "1MiB", "-o", out, "--no-progress"],
      {
        signal: controller.signal,
      },
    );
    api.intercept = null;
    expect(first.code).toBe(EXIT_INTERRUPTED);
    expect(first.stderr).toMatch(/lifeboat: Interrupted; run the same command again to resume\.\n$/);
    const state = JSON.parse(await readFile(path.join(out, "volume.tgz.part.json"), "utf8")) as ResumeState;
    const chunkCount = Math.ceil(state.size / MiB);
    expect(state.done.length).toBeGreaterThan(0);
    expect(state.done.length).toBeLessThan(chunkCount);

    const start = api.requests.length;
    const second = await run([
      "backup",
      "download",
      "--backupId",
      backupId,
      "--doclib",
      "--concurrency",
      "5",
      "--chunk-size",
      "1MiB",
      "-o",
      out,
      "--no-progress",
    ]);
    expect(second.code).toBe(0);
    expect(second.stderr).toContain(`resuming, ${state.done.length} of ${chunkCount} chunks already here`);
    const fetched = rangesOf(api, start, "volume").map((r) => Number(/^bytes=(\d+)-/.exec(r)![1]) / MiB);
    expect(fetched.filter((i) => state.done.includes(i))).toEqual([]);
    expect([...fetched, ...state.done].sort((a, b) => a - b)).toEqual(Array.from({ length: chunkCount }, (_, i) => i));
    expect(await fileDigest(path.join(out, "volume.tgz"))).toBe(await fileDigest(path.join(work, "out", "volume.tgz")));
    expect(await readdir(out)).toEqual(["volume.tgz"]);
  }, 120_000);

  it("starts over when the resume state belongs to another version of the file (ETag differs)", async () => {
    const out = path.join(work, "stale");
    await mkdir(out);
    const size = databaseGz.length;
    await writeFile(path.join(out, "database.gz.part"), Buffer.alloc(size, 0x55));
    const stale: ResumeState = {
      version: 1,
      url: "",
      backupId,
      kind: "database",
      size,
      sha256: "0".repeat(64),
      etag: '"something-else"',
      chunkSize: 64 * 1024,
      done: [0],
    };
    await writeFile(path.join(out, "database.gz.part.json"), JSON.stringify(stale));
    const start = api.requests.length;
    // More workers than chunks is fine: only as many as there are chunks start.
    const result = await run([
      "backup",
      "download",
      "--backupId",
      backupId,
      "--database",
      "--concurrency",
      "10000",
      "--chunk-size",
      "64KiB",
      "-o",
      out,
      "--no-progress",
    ]);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/database\.gz: the file on the server is not the one the interrupted download fetched .*; starting over\./);
    expect(rangesOf(api, start, "database")).toHaveLength(Math.ceil(size / (64 * 1024)));
    expect(await fileDigest(path.join(out, "database.gz"))).toBe(digest(databaseGz));
  });

  it("draws progress bars when stderr is a terminal, and plain lines when it is not", async () => {
    const onTerminal = await run(["backup", "download", "--backupId", backupId, "--database", "--chunk-size", "64KiB", "-o", path.join(work, "tty")], {
      tty: true,
    });
    expect(onTerminal.code).toBe(0);
    expect(onTerminal.stderr).toMatch(/database\.gz\s+\|[█░]+\| 100% \| [\d.]+ \w+ of [\d.]+ \w+/);

    const inLog = await run(["backup", "download", "--backupId", backupId, "--database", "--chunk-size", "64KiB", "-o", path.join(work, "log")]);
    expect(inLog.code).toBe(0);
    expect(inLog.stderr).toMatch(
      /^database\.gz: 0% \(0 B of [\d.]+ \w+\)\n(database\.gz: \d+% .*\n)*database\.gz: 100% .*\ndatabase\.gz: done \([\d.]+ \w+, SHA-256 verified\)\n$/,
    );
  });

  it("exits 6 and keeps nothing when the bytes do not match the server's SHA-256", async () => {
    const backup = (await getBackup(api.handle.db, { id: backupId }))!;
    const key = backup.files.find((f) => f.kind === "database")!.storageKey;
    const objectPath = path.join(api.storageRoot, "objects", ...key.split("/"));
    const original = await readFile(objectPath);
    const rotten = Buffer.from(original);
    rotten[rotten.length >> 1]! ^= 0xff; // disk rot: same size, one byte flipped
    await writeFile(objectPath, rotten);
    try {
      const out = path.join(work, "mismatch");
      const result = await run([
        "backup",
        "download",
        "--backupId",
        backupId,
        "--database",
        "--concurrency",
        "4",
        "--chunk-size",
        "64KiB",
        "-o",
        out,
        "--no-progress",
      ]);
      expect(result.code).toBe(EXIT.verification);
      expect(result.stderr).toMatch(
        /^lifeboat: database\.gz failed verification: its SHA-256 is [0-9a-f]{64}, but the server says [0-9a-f]{64}\. The partial file was removed; run the command again\.\n$/,
      );
      expect(await readdir(out)).toEqual([]);
    } finally {
      await writeFile(objectPath, original);
    }
  });

  it("resumes an interrupted upload: only the parts the server lacks are sent again", async () => {
    // Another dump, so this is a new upload rather than the finished one above.
    const otherDump = path.join(work, "other.gz");
    await writeFile(otherDump, gzipSync(Buffer.concat([gunzipSync(databaseGz), Buffer.from("\n-- again\n")])));
    const controller = new AbortController();
    let puts = 0;
    api.intercept = (req) => {
      if (req.method === "PUT" && ++puts === 2) controller.abort();
      return false;
    };
    const args = ["backup", "upload", "-p", "acme", "-e", "uat", "--doclib", doclib, "--database", otherDump, "--concurrency", "1", "--no-progress", "--json"];
    const first = await run(args, { signal: controller.signal });
    api.intercept = null;
    expect(first.code).toBe(EXIT_INTERRUPTED);

    const second = await run(args);
    expect(second.stderr).not.toMatch(/lifeboat: (?!warning)/);
    expect(second.code).toBe(0);
    const result = JSON.parse(second.stdout) as { backup_id: string; resumed: boolean; sent_parts: { database: number[]; volume: number[] } };
    expect(result.resumed).toBe(true);
    // Part 1 of the dump arrived before the interruption; the tar of the unchanged folder is the same bytes, so only volume parts go.
    expect(result.sent_parts).toEqual({ database: [], volume: [1, 2] });
    expect(result.backup_id).not.toBe(backupId);
  }, 180_000);

  it("retries a chunk and a part the server failed with 503, and still gets every byte right", async () => {
    let failedRange = false;
    let failedPart = false;
    api.intercept = (req, res) => {
      const failRange = !failedRange && req.method === "GET" && req.headers.range && req.url?.startsWith("/backup/download/database/");
      const failPart = !failedPart && req.method === "PUT";
      if (!failRange && !failPart) return false;
      if (failRange) failedRange = true;
      else failedPart = true;
      req.resume();
      res.writeHead(503, { "content-type": "application/json", connection: "close" });
      res.end(JSON.stringify({ error: { code: "unavailable", message: "Storage is briefly unavailable." } }));
      return true;
    };
    try {
      const out = path.join(work, "retry");
      const down = await run(["backup", "download", "--backupId", backupId, "--database", "--chunk-size", "64KiB", "-o", out, "--no-progress"]);
      expect(down.code).toBe(0);
      expect(down.stderr).toMatch(/^Retrying bytes 0-65535 of database\.gz: Storage is briefly unavailable\.\n$/);
      expect(await fileDigest(path.join(out, "database.gz"))).toBe(digest(databaseGz));

      const smallDoclib = path.join(work, "small-doclib");
      await mkdir(path.join(smallDoclib, "a"), { recursive: true });
      await writeFile(path.join(smallDoclib, "a", "b.txt"), "small\n");
      const smallDump = path.join(work, "small.gz");
      await writeFile(smallDump, gzipSync(Buffer.concat([gunzipSync(databaseGz), Buffer.from("\n-- small\n")])));
      const up = await run(["backup", "upload", "-p", "acme", "-e", "uat", "--doclib", smallDoclib, "--database", smallDump, "--no-progress", "--json"]);
      expect(up.stderr).toMatch(/Retrying part 1 of (small\.gz|volume\.tgz): Storage is briefly unavailable\./);
      expect(up.code).toBe(0);
      expect((JSON.parse(up.stdout) as { sent_parts: unknown }).sent_parts).toEqual({ database: [1], volume: [1] });
    } finally {
      api.intercept = null;
    }
    expect(failedRange && failedPart).toBe(true);
  }, 60_000);

  it("follows an upload interrupted after completing instead of sending it again", async () => {
    const files = path.join(work, "after-complete");
    await mkdir(path.join(files, "doclib", "x"), { recursive: true });
    await writeFile(path.join(files, "doclib", "x", "y.bin"), randomBytes(1000));
    const dump = path.join(files, "dump.gz");
    await writeFile(dump, gzipSync(Buffer.concat([gunzipSync(databaseGz), Buffer.from("\n-- after complete\n")])));
    const args = ["backup", "upload", "-p", "acme", "-e", "uat", "--doclib", path.join(files, "doclib"), "--database", dump, "--no-progress", "--json"];

    const controller = new AbortController();
    api.intercept = (req) => {
      if (req.method === "GET" && /^\/api\/v1\/uploads\/[^/]+$/.test(req.url ?? "")) controller.abort();
      return false;
    };
    const first = await run(args, { signal: controller.signal });
    api.intercept = null;
    expect(first.code).toBe(EXIT_INTERRUPTED);
    expect(api.requests.some((r) => r.method === "POST" && r.path.endsWith("/complete") && r.status === 202)).toBe(true);

    const start = api.requests.length;
    const second = await run(args);
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(/Upload [0-9a-f-]{36} of these files is already (completing|completed); following it\./);
    const again = api.requests.slice(start);
    expect(again.filter((r) => r.method !== "GET")).toEqual([]);
    const result = JSON.parse(second.stdout) as { resumed: boolean; sent_parts: unknown; backup: { status: string } };
    expect(result).toMatchObject({ resumed: true, sent_parts: { database: [], volume: [] }, backup: { status: "completed" } });
    expect(await readdir(path.join(configDir, "uploads"))).toEqual([]);
  }, 60_000);

  it("exits 3 on a wrong token, 4 on an unknown backup, 2 on usage errors — one line on stderr each", async () => {
    const wrong = await run(["backup", "list", "-p", "acme", "-e", "uat"], { env: { LIFEBOAT_TOKEN: `lbt_${"A".repeat(43)}` } });
    expect(wrong.code).toBe(EXIT.auth);
    expect(wrong.stderr).toMatch(/^lifeboat: [^\n]+\n$/);

    const unknown = await run(["backup", "download", "--backupId", "acme-nosuchbackupatall-202001010000", "-o", path.join(work, "none")]);
    expect(unknown.code).toBe(EXIT.notFound);
    expect(unknown.stderr).toBe("lifeboat: There is no backup acme-nosuchbackupatall-202001010000 you have access to.\n");

    const onlyOne = await run(["backup", "upload", "-p", "acme", "-e", "uat", "--doclib", doclib]);
    expect(onlyOne.code).toBe(EXIT.usage);
    expect(onlyOne.stderr).toMatch(/pass both --database <file\.gz> and --doclib <folder>/);

    const notGzip = path.join(work, "plain.gz");
    await writeFile(notGzip, "CREATE TABLE x (id int);\n");
    const plain = await run(["backup", "upload", "-p", "acme", "-e", "uat", "--doclib", doclib, "--database", notGzip]);
    expect(plain.code).toBe(EXIT.usage);
    expect(plain.stderr).toMatch(/^lifeboat: .*plain\.gz is not gzip-compressed/);

    const badConcurrency = await run(["backup", "download", "--backupId", backupId, "--concurrency", "0"]);
    expect(badConcurrency.code).toBe(EXIT.usage);

    const missingFlag = await run(["backup", "list", "-p", "acme"]);
    expect(missingFlag.code).toBe(EXIT.usage);
    expect(missingFlag.stderr).toMatch(/^lifeboat: required option '-e, --environment <environment>' not specified/);

    // A member may see but not upload anywhere.
    const member = await run(["backup", "upload", "-p", "acme", "-e", "uat", "--doclib", doclib, "--database", databaseFile], {
      env: { LIFEBOAT_TOKEN: api.memberToken },
    });
    expect(member.code).toBe(EXIT.auth);
  }, 60_000);

  it("logs in with a token from stdin, stores it 0600, and later commands use it", async () => {
    const dir = path.join(work, "login-config");
    const env = { LIFEBOAT_CONFIG_DIR: dir, LIFEBOAT_URL: undefined, LIFEBOAT_TOKEN: undefined };
    const bad = await run(["login", "--url", api.baseUrl], { env, stdin: Readable.from([`lbt_${"B".repeat(43)}\n`]) });
    expect(bad.code).toBe(EXIT.auth);
    await expect(stat(path.join(dir, "config.json"))).rejects.toThrow();

    const ok = await run(["login", "--url", `${api.baseUrl}/`], { env, stdin: Readable.from([`${api.adminToken}\n`]) });
    expect(ok.stderr).toMatch(
      /^Logged in to http:\/\/127\.0\.0\.1:\d+; the token sees 3 environments: acme-\w+ \(admin\), acme-\w+ \(admin\), acme-\w+ \(admin\)\.\nSaved in .*config\.json\.\n$/,
    );
    expect(ok.code).toBe(0);
    const file = path.join(dir, "config.json");
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, "utf8"))).toEqual({ url: api.baseUrl, token: api.adminToken });

    const listed = await run(["backup", "list", "-p", "acme", "-e", "uat", "--json"], { env });
    expect(listed.code).toBe(0);
    const backups = JSON.parse(listed.stdout) as { id: string; status: string }[];
    expect(backups.map((b) => b.id)).toContain(backupId);

    // The environment's token wins over the stored one.
    const overridden = await run(["backup", "list", "-p", "acme", "-e", "uat"], { env: { ...env, LIFEBOAT_TOKEN: `lbt_${"C".repeat(43)}` } });
    expect(overridden.code).toBe(EXIT.auth);

    const table = await run(["backup", "list", "-p", "acme", "-e", "uat", "--status", "completed"], { env });
    expect(table.stdout.split("\n")[0]).toMatch(/^ID\s+STATUS\s+ORIGIN\s+CREATED \(UTC\)\s+DATABASE\s+VOLUME$/);
    expect(table.stdout).toContain(backupId);
  });

  it("creates a backup (202, prints its ID) and reports the server's refusal with exit 2 where the environment cannot back up", async () => {
    const refused = await run(["backup", "create", "-p", "acme", "-e", "dev"]);
    expect(refused.code).toBe(EXIT.usage);
    expect(refused.stderr).toMatch(/^lifeboat: [^\n]+\n$/);

    const url = new URL(api.handle.url!);
    await api.handle.db
      .update(environments)
      .set({ dbHost: url.hostname, dbPort: Number(url.port), dbName: url.pathname.slice(1), dbUser: url.username, volumePath: doclib })
      .where(eq(environments.id, (await api.environment("dev")).id));
    const created = await run(["backup", "create", "-p", "acme", "-e", "dev", "--name", "before the migration", "--json"]);
    expect(created.code).toBe(0);
    const backup = JSON.parse(created.stdout) as { id: string; status: string; name: string };
    expect(backup).toMatchObject({ status: "queued", name: "before the migration" });

    const queued = await run(["backup", "list", "-p", "acme", "-e", "dev", "--status", "queued", "--json"]);
    expect((JSON.parse(queued.stdout) as { id: string }[]).map((b) => b.id)).toEqual([backup.id]);

    const busy = await run(["backup", "create", "-p", "acme", "-e", "dev"]);
    expect(busy.code).toBe(EXIT.conflict);
  });

  it("follows a created backup with --wait until it completes, and exits 7 with the reason when one fails", async () => {
    // No worker runs in this test: the test plays the worker by moving the rows along while the CLI polls.
    const dev = await api.environment("dev");
    await api.handle.db.update(backups).set({ status: "failed", statusReason: "cleared by the test" }).where(eq(backups.environmentId, dev.id));
    await api.handle.db.delete(environmentLocks).where(eq(environmentLocks.environmentId, dev.id));
    // eslint-disable-next-line drizzle/enforce-delete-with-where -- no job of an earlier test may run while the test plays the worker
    await api.handle.db.delete(jobs);

    const waiting = run(["backup", "create", "-p", "acme", "-e", "dev", "--wait", "--json"]);
    const queued = await until(async () => (await api.handle.db.select().from(backups).where(eq(backups.status, "queued")))[0]);
    await api.handle.db.update(backups).set({ status: "running", progressBytes: 10, totalBytes: 100 }).where(eq(backups.id, queued.id));
    await api.handle.db
      .update(backups)
      .set({ status: "failed", statusReason: "pg_dump exited with code 1: connection refused" })
      .where(eq(backups.id, queued.id));
    const failed = await waiting;
    expect(failed.code).toBe(EXIT.remoteFailed);
    expect(failed.stderr).toMatch(new RegExp(`lifeboat: Backup ${queued.id} failed: pg_dump exited with code 1: connection refused\\n$`));
    expect(failed.stdout).toBe("");
  });

  it("requests a restore (202, prints its ID), follows it with --wait, and passes the server's refusals on", async () => {
    const unconfigured = await run(["backup", "restore", "--backupId", backupId, "-e", "prd"]);
    expect(unconfigured.code).toBe(EXIT.usage);
    expect(unconfigured.stderr).toMatch(/^lifeboat: acme-prd has no .* configured, so Lifeboat cannot restore into it\..*\n$/);

    const url = new URL(api.handle.url!);
    const restoreTarget = await mkdtemp(path.join(work, "restore-target-"));
    for (const name of ["uat", "prd"]) {
      await api.handle.db
        .update(environments)
        .set({ dbHost: url.hostname, dbPort: Number(url.port), dbName: "restore_target_never_touched", dbUser: url.username, volumePath: restoreTarget })
        .where(eq(environments.id, (await api.environment(name)).id));
    }
    const unconfirmed = await run(["backup", "restore", "--backupId", backupId, "-e", "prd", "--confirm", "yes"]);
    expect(unconfirmed.code).toBe(EXIT.usage);
    expect(unconfirmed.stderr).toMatch(/is a production environment: .* With the CLI: --confirm prd\n$/);
    // eslint-disable-next-line drizzle/enforce-delete-with-where -- nothing may actually restore into the test database
    await api.handle.db.delete(jobs);

    const waiting = run(["backup", "restore", "--backupId", backupId, "--wait", "--json"]);
    const row = await until(async () => (await api.handle.db.select().from(restores))[0]);
    expect(row).toMatchObject({ backupId, status: "queued" });
    // eslint-disable-next-line drizzle/enforce-delete-with-where -- the restore's job is dropped: the test plays the worker
    await api.handle.db.delete(jobs);
    await api.handle.db
      .update(restores)
      .set({ status: "running", stage: "loading the database", progressBytes: 5, totalBytes: 10 })
      .where(eq(restores.id, row.id));
    await api.handle.db.update(restores).set({ status: "completed", stage: null, progressBytes: 10 }).where(eq(restores.id, row.id));
    const done = await waiting;
    expect(done.stderr).not.toMatch(/lifeboat:/);
    expect(done.code).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject({ id: row.id, backup_id: backupId, environment: "uat", status: "completed" });

    const missing = await run(["backup", "restore", "--backupId", "acme-nosuchbackupatall-202001010000"]);
    expect(missing.code).toBe(EXIT.notFound);
  });

  it("runs through the real bin (node bin/lifeboat.mjs) from another folder", async () => {
    const result = await new Promise<Run>((resolve) => {
      execFile(
        process.execPath,
        [path.join(repoRoot, "bin/lifeboat.mjs"), "backup", "list", "-p", "acme", "-e", "uat", "--json"],
        { cwd: work, env: { ...process.env, LIFEBOAT_URL: api.baseUrl, LIFEBOAT_TOKEN: api.adminToken, LIFEBOAT_CONFIG_DIR: configDir }, timeout: 60_000 },
        (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as { id: string }[]).map((b) => b.id)).toContain(backupId);

    const denied = await new Promise<number>((resolve) => {
      execFile(
        process.execPath,
        [path.join(repoRoot, "bin/lifeboat.mjs"), "backup", "list", "-p", "acme", "-e", "uat"],
        {
          cwd: work,
          env: { ...process.env, LIFEBOAT_URL: api.baseUrl, LIFEBOAT_TOKEN: `lbt_${"D".repeat(43)}`, LIFEBOAT_CONFIG_DIR: configDir },
          timeout: 60_000,
        },
        (error) => resolve(error ? ((error as { code?: number }).code ?? 1) : 0),
      );
    });
    expect(denied).toBe(EXIT.auth);
  }, 120_000);
});
