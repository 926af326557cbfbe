import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";

import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

import { auditEvents } from "@/lib/db/schema";
import type { AuditEvent } from "@/lib/db/schema";
import { createStorage } from "@/lib/storage";
import type { Storage } from "@/lib/storage";
import { startS3rver } from "@/lib/storage/testing/s3rver";

import { rawRequest, startDownloadHarness } from "./testing/harness";
import type { DownloadHarness, RawReply } from "./testing/harness";
import { DEMO_PEOPLE, insertBackupRows, seedBackup, sessionCookie, storageKeyFor } from "./testing/seed";

// The handler logs the damaged-file case on purpose; keep the test output readable.
vi.hoisted(() => {
  process.env.LOG_LEVEL ??= "silent";
});

const KiB = 1024;
const MiB = 1024 * KiB;

const PRD_ID = "acme-prddownloadtest-202405011020";
const UAT_ID = "acme-uatdownloadtest-202405011030";
const RUNNING_ID = "acme-runningbackuptest-202405011040";
const LARGE_ID = "acme-largedownloadtest-202405011050";
const MISSING_ID = "acme-missingobjecttest-202405011100";
const UNKNOWN_ID = "acme-doesnotexistatall-202405011110";
const SHORT_ID = "acme-shortobjecttest-202405011120";
const COMPLETED_AT = new Date("2024-05-01T10:25:00.000Z");

// Odd sizes, so an off-by-one at either end of a range shows.
const DATABASE = randomBytes(3 * MiB + 123);
const VOLUME = randomBytes(200 * KiB + 7);
const UAT_DATABASE = randomBytes(64 * KiB + 1);
// Bigger than loopback's socket buffers, so a client that stops early really cuts the transfer short.
const LARGE = randomBytes(48 * MiB);
const SHORT = randomBytes(1000);

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

interface StorageFixture {
  storage: Storage;
  close(): Promise<void>;
}

const DRIVERS: { name: string; open(): Promise<StorageFixture> }[] = [
  {
    name: "local",
    async open() {
      const root = await mkdtemp(path.join(tmpdir(), "lifeboat-downloads-"));
      return { storage: createStorage({ driver: "local", root }), close: () => rm(root, { recursive: true, force: true }) };
    },
  },
  {
    name: "s3",
    async open() {
      const server = await startS3rver();
      return { storage: createStorage(server.config), close: () => server.close() };
    },
  },
];

describe.each(DRIVERS)("backup downloads from $name storage", (driver) => {
  let fixture: StorageFixture;
  let h: DownloadHarness;
  let adminCookie: string;
  let memberCookie: string;
  let strangerCookie: string;

  const url = (kind: string, id: string) => `${h.baseUrl}/backup/download/${kind}/${id}`;
  const userAgent = (test: string) => `download-test/${driver.name}/${test}`;

  function get(kind: string, id: string, headers: Record<string, string> = {}, method = "GET") {
    return rawRequest(url(kind, id), { method, headers: { cookie: adminCookie, ...headers } });
  }

  async function auditRows(agent: string): Promise<AuditEvent[]> {
    return h.handle.db.select().from(auditEvents).where(eq(auditEvents.userAgent, agent));
  }

  /** The row is written once the response has finished, which can be after the client saw the last byte: when the handler has returned. */
  async function waitForAuditRow(agent: string): Promise<AuditEvent> {
    await h.handlers.settled();
    const [row, ...more] = await auditRows(agent);
    expect(row, `no audit row for ${agent}`).toBeDefined();
    expect(more).toEqual([]);
    return row!;
  }

  beforeAll(async () => {
    fixture = await driver.open();
    h = await startDownloadHarness(fixture.storage);
    const { prd, uat } = h.environments;
    await seedBackup(h.handle.db, h.storage, { id: PRD_ID, environmentId: prd.id, completedAt: COMPLETED_AT, files: { database: DATABASE, volume: VOLUME } });
    await seedBackup(h.handle.db, h.storage, { id: UAT_ID, environmentId: uat.id, completedAt: COMPLETED_AT, files: { database: UAT_DATABASE } });
    await seedBackup(h.handle.db, h.storage, { id: LARGE_ID, environmentId: prd.id, completedAt: COMPLETED_AT, files: { database: LARGE } });
    await insertBackupRows(h.handle.db, { id: RUNNING_ID, environmentId: prd.id, status: "running", files: [] });
    await insertBackupRows(h.handle.db, {
      id: MISSING_ID,
      environmentId: prd.id,
      files: [{ kind: "database", size: 10, sha256: sha256(Buffer.alloc(10)), storageKey: storageKeyFor(MISSING_ID, "database") }],
    });
    // Storage holds fewer bytes than the record promises: a damaged or truncated object.
    await h.storage.putObject(storageKeyFor(SHORT_ID, "database"), Readable.from([SHORT], { objectMode: false }));
    await insertBackupRows(h.handle.db, {
      id: SHORT_ID,
      environmentId: prd.id,
      files: [{ kind: "database", size: SHORT.length + 10, sha256: sha256(SHORT), storageKey: storageKeyFor(SHORT_ID, "database") }],
    });
    adminCookie = await sessionCookie(h.handle.db, DEMO_PEOPLE.admin, h.secret);
    memberCookie = await sessionCookie(h.handle.db, DEMO_PEOPLE.member, h.secret);
    strangerCookie = await sessionCookie(h.handle.db, DEMO_PEOPLE.stranger, h.secret);
  });

  afterAll(async () => {
    await h?.close();
    await fixture?.close();
  });

  describe("whole files", () => {
    it("streams the database file with its size, name and checksums, and audits it", async () => {
      const agent = userAgent("full");
      const reply = await get("database", PRD_ID, { "user-agent": agent });

      expect(reply.status).toBe(200);
      expect(reply.body.equals(DATABASE)).toBe(true);
      const digest = sha256(reply.body);
      expect(reply.headers).toMatchObject({
        "content-length": String(DATABASE.length),
        "content-type": "application/gzip",
        "content-disposition": `attachment; filename="${PRD_ID}-database.gz"`,
        "accept-ranges": "bytes",
        "x-lifeboat-sha256": digest,
        "repr-digest": `sha-256=:${createHash("sha256").update(DATABASE).digest("base64")}:`,
        etag: `"${digest}"`,
        "last-modified": COMPLETED_AT.toUTCString(),
        "cache-control": "private, no-store",
      });
      expect(reply.headers["content-range"]).toBeUndefined();
      expect(reply.headers["content-encoding"]).toBeUndefined();

      const row = await waitForAuditRow(agent);
      expect(row).toMatchObject({
        action: "backup.download",
        actor: DEMO_PEOPLE.admin.email,
        actorType: "user",
        projectId: "acme",
        environmentId: h.environments.prd.id,
        backupId: PRD_ID,
        ip: "127.0.0.1",
        userAgent: agent,
        detail: { kind: "database", fileName: `${PRD_ID}-database.gz`, range: null, bytesSent: DATABASE.length, complete: true, status: 200 },
      });
    });

    it("streams the volume file under its own name", async () => {
      const reply = await get("volume", PRD_ID);
      expect(reply.status).toBe(200);
      expect(reply.body.equals(VOLUME)).toBe(true);
      expect(reply.headers["content-length"]).toBe(String(VOLUME.length));
      expect(reply.headers["content-disposition"]).toBe(`attachment; filename="${PRD_ID}-volume.tgz"`);
      expect(reply.headers["x-lifeboat-sha256"]).toBe(sha256(VOLUME));
    });

    it("answers HEAD with the same headers, no body and no audit row", async () => {
      const agent = userAgent("head");
      const reply = await get("database", PRD_ID, { "user-agent": agent, range: "bytes=0-9" }, "HEAD");
      // Range is defined for GET only (RFC 9110 §14.2), so HEAD describes the whole file.
      expect(reply.status).toBe(200);
      expect(reply.body.length).toBe(0);
      expect(reply.headers).toMatchObject({
        "content-length": String(DATABASE.length),
        "content-disposition": `attachment; filename="${PRD_ID}-database.gz"`,
        "x-lifeboat-sha256": sha256(DATABASE),
        "accept-ranges": "bytes",
      });
      // The handler has returned: a GET's row would be written by now.
      await h.handlers.settled();
      expect(await auditRows(agent)).toEqual([]);
    });
  });

  describe("byte ranges", () => {
    const size = DATABASE.length;

    it.each([
      ["the first byte", "bytes=0-0", 0, 0],
      ["a middle slice", "bytes=1000000-1999999", 1_000_000, 1_999_999],
      ["a suffix", "bytes=-500", size - 500, size - 1],
      ["an open end", `bytes=${size - 10}-`, size - 10, size - 1],
      ["an end past the file", `bytes=${size - 3}-${size + 1000}`, size - 3, size - 1],
    ])("serves %s (%s) as 206 with an explicit Content-Range", async (_label, range, start, end) => {
      const reply = await get("database", PRD_ID, { range });
      expect(reply.status).toBe(206);
      expect(reply.headers["content-range"]).toBe(`bytes ${start}-${end}/${size}`);
      expect(reply.headers["content-length"]).toBe(String(end - start + 1));
      expect(reply.headers["x-lifeboat-sha256"]).toBe(sha256(DATABASE));
      expect(reply.body.equals(DATABASE.subarray(start, end + 1))).toBe(true);
    });

    it("audits a partial download with its range", async () => {
      const agent = userAgent("range");
      const reply = await get("database", PRD_ID, { range: "bytes=100-199", "user-agent": agent });
      expect(reply.status).toBe(206);
      const row = await waitForAuditRow(agent);
      expect(row.detail).toEqual({ kind: "database", fileName: `${PRD_ID}-database.gz`, range: "100-199", bytesSent: 100, complete: true, status: 206 });
    });

    it.each([
      ["starts past the end", `bytes=${size}-`],
      ["is an empty suffix", "bytes=-0"],
      ["is malformed", "bytes=abc"],
      ["ends before it starts", "bytes=10-5"],
    ])("answers 416 when the range %s", async (_label, range) => {
      const reply = await get("database", PRD_ID, { range });
      expect(reply.status).toBe(416);
      expect(reply.headers["content-range"]).toBe(`bytes */${size}`);
      expect(reply.headers["content-type"]).toBe("application/json");
      expect(JSON.parse(reply.body.toString()).error.code).toBe("range_not_satisfiable");
    });

    it("sends the whole file for several ranges", async () => {
      const reply = await get("database", PRD_ID, { range: "bytes=0-9,100-109" });
      expect(reply.status).toBe(200);
      expect(reply.headers["content-length"]).toBe(String(size));
      expect(reply.body.equals(DATABASE)).toBe(true);
    });

    it("resumes when If-Range names the current ETag or Last-Modified", async () => {
      const byTag = await get("database", PRD_ID, { range: "bytes=-100", "if-range": `"${sha256(DATABASE)}"` });
      expect(byTag.status).toBe(206);
      expect(byTag.body.equals(DATABASE.subarray(size - 100))).toBe(true);

      const byDate = await get("database", PRD_ID, { range: "bytes=0-99", "if-range": COMPLETED_AT.toUTCString() });
      expect(byDate.status).toBe(206);
      expect(byDate.body.equals(DATABASE.subarray(0, 100))).toBe(true);
    });

    it("sends the whole file when If-Range names another version", async () => {
      for (const ifRange of [`"${sha256(VOLUME)}"`, `W/"${sha256(DATABASE)}"`, "Tue, 30 Apr 2024 00:00:00 GMT"]) {
        const reply = await get("database", PRD_ID, { range: "bytes=0-99", "if-range": ifRange });
        expect(reply.status).toBe(200);
        expect(reply.headers["content-range"]).toBeUndefined();
        expect(reply.body.equals(DATABASE)).toBe(true);
      }
    });
  });

  describe("who may download what", () => {
    function expectError(reply: RawReply, status: number, code: string): string {
      expect(reply.status).toBe(status);
      expect(reply.headers["content-type"]).toBe("application/json");
      const body = JSON.parse(reply.body.toString()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe(code);
      return body.error.message;
    }

    /** A HEAD answer has the error's status and headers but, by definition, no body. */
    function expectHeadError(reply: RawReply, status: number): void {
      expect(reply.status).toBe(status);
      expect(reply.headers["content-type"]).toBe("application/json");
      expect(reply.body.length).toBe(0);
    }

    it("answers 400 for a malformed ID, before asking who is there", async () => {
      expectError(await get("database", "not-a-backup"), 400, "bad_request");
      expectError(await rawRequest(url("database", "ACME-x-1")), 400, "bad_request");
    });

    it("answers 404 for an unknown ID", async () => {
      expectError(await get("database", UNKNOWN_ID), 404, "not_found");
    });

    it("answers 401 without a session or with a forged one", async () => {
      expectError(await rawRequest(url("database", PRD_ID)), 401, "unauthorized");
      expectError(await rawRequest(url("database", PRD_ID), { headers: { cookie: "next-auth.session-token=garbage" } }), 401, "unauthorized");
      const otherSecret = await sessionCookie(h.handle.db, DEMO_PEOPLE.admin, "a-different-secret-that-is-32-chars-long");
      expectError(await rawRequest(url("database", PRD_ID), { headers: { cookie: otherSecret } }), 401, "unauthorized");
    });

    it("hides backups of environments the person cannot see (404, not 403)", async () => {
      expectError(await get("database", PRD_ID, { cookie: strangerCookie }), 404, "not_found");
    });

    it("refuses production downloads to members (403), for GET and HEAD", async () => {
      const message = expectError(await get("database", PRD_ID, { cookie: memberCookie }), 403, "forbidden");
      expect(message).toBe("Only administrators of acme-prd can download its backups.");
      expectHeadError(await get("volume", PRD_ID, { cookie: memberCookie }, "HEAD"), 403);
    });

    it("lets members download non-production backups", async () => {
      const agent = userAgent("member-uat");
      const reply = await get("database", UAT_ID, { cookie: memberCookie, "user-agent": agent });
      expect(reply.status).toBe(200);
      expect(reply.body.equals(UAT_DATABASE)).toBe(true);
      expect((await waitForAuditRow(agent)).actor).toBe(DEMO_PEOPLE.member.email);
    });

    it("answers 409 for a backup that is not completed, or lacks the file", async () => {
      expect(expectError(await get("database", RUNNING_ID), 409, "conflict")).toContain("running");
      expect(expectError(await get("volume", UAT_ID), 409, "conflict")).toContain("no volume file");
    });

    it("answers 500 without storage internals when storage lost a completed backup's file", async () => {
      const message = expectError(await get("database", MISSING_ID), 500, "internal");
      expect(message).toContain("missing from storage");
      expect(message).not.toContain(storageKeyFor(MISSING_ID, "database"));
      expectHeadError(await get("database", MISSING_ID, {}, "HEAD"), 500);
    });

    it("answers 405 for other methods", async () => {
      const reply = await get("database", PRD_ID, {}, "POST");
      expectError(reply, 405, "method_not_allowed");
      expect(reply.headers.allow).toBe("GET, HEAD");
    });
  });

  describe("interrupted downloads", () => {
    it("audits a download the client abandons as incomplete, and keeps serving", async () => {
      const agent = userAgent("abort");
      const firstChunk = await new Promise<{ status: number; bytes: number }>((resolve, reject) => {
        const req = request(url("database", LARGE_ID), { headers: { cookie: adminCookie, "user-agent": agent }, agent: false }, (res) => {
          res.on("error", () => {}); // "aborted": we are the ones cutting it
          res.once("data", (chunk: Buffer) => {
            req.destroy();
            resolve({ status: res.statusCode ?? 0, bytes: chunk.length });
          });
        });
        req.on("error", (error) => {
          if (!req.destroyed) reject(error);
        });
        req.end();
      });
      expect(firstChunk.status).toBe(200);
      expect(firstChunk.bytes).toBeGreaterThan(0);

      const row = await waitForAuditRow(agent);
      expect(row.detail).toMatchObject({ kind: "database", range: null, complete: false, status: 200 });
      const { bytesSent } = row.detail as { bytesSent: number };
      expect(bytesSent).toBeGreaterThanOrEqual(firstChunk.bytes);
      expect(bytesSent).toBeLessThan(LARGE.length);

      const after = await get("database", LARGE_ID, { range: "bytes=-1000" });
      expect(after.status).toBe(206);
      expect(after.body.equals(LARGE.subarray(LARGE.length - 1000))).toBe(true);
    });

    it("never ends a response short when storage has fewer bytes than recorded", async () => {
      const agent = userAgent("short");
      const request = get("database", SHORT_ID, { "user-agent": agent });
      if (h.storage.openFile) {
        // The file's size is known before the first byte: a clean 500 instead of a cut connection.
        const reply = await request;
        expect(reply.status).toBe(500);
        expect(JSON.parse(reply.body.toString()).error.code).toBe("internal");
        return;
      }
      // A stream's length is only known at its end: the connection is cut, so the client cannot mistake it for the file.
      await expect(request).rejects.toThrow();
      const row = await waitForAuditRow(agent);
      expect(row.detail).toMatchObject({ complete: false, bytesSent: SHORT.length, status: 200 });
    });

    it("delivers a large file whole, byte for byte", async () => {
      const reply = await get("database", LARGE_ID);
      expect(reply.status).toBe(200);
      expect(reply.headers["content-length"]).toBe(String(LARGE.length));
      expect(sha256(reply.body)).toBe(sha256(LARGE));
      expect(reply.headers["x-lifeboat-sha256"]).toBe(sha256(LARGE));
    });
  });
});
