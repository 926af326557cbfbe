import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";

import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import type { Actor } from "@/lib/auth/permissions";
import { backupObjectKey } from "@/lib/backups/engine/create-backup";
import { actorFor, objectsUnder, runJobsUntilIdle, workerDiesThenSweep } from "@/lib/backups/testing";
import { documentLibraryTgz, gz, gzipBombDump, pgDump } from "@/lib/backups/verify/testing";
import type { DbHandle } from "@/lib/db/client";
import { listAuditEvents } from "@/lib/db/queries/audit";
import { getBackup } from "@/lib/db/queries/backups";
import { getEnvironmentLock } from "@/lib/db/queries/locks";
import { environments, jobs } from "@/lib/db/schema";
import type { Environment } from "@/lib/db/schema";
import { DEMO_GROUPS, seedDemoProject } from "@/lib/db/seed";
import { createTestDatabase, DATABASE_KINDS } from "@/lib/db/testing";
import { isAppError } from "@/lib/errors";
import { getJob } from "@/lib/jobs/queue";
import { createStorage } from "@/lib/storage";
import type { Storage } from "@/lib/storage/types";

import { ABANDONED_IMPORT_REASON, createImportJobHandler, IMPORT_QUEUE, requestImport } from "./import-backup";
import type { ImportDeps } from "./import-backup";
import { redactUrl } from "./remote-url";

const SECRET = "import-tests-secret-that-is-long-enough-0123456789";
const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

/**
 * A file server on loopback: the files to import, a redirect to them, a
 * password-protected copy, a 404, something that is not gzip, and one that
 * claims to be huge. It records every request so a test can see what was sent.
 */
async function startFileServer(files: { database: Buffer; volume: Buffer }) {
  const seen: { url: string; authorization: string | undefined }[] = [];
  const server: Server = createServer((req, res) => {
    seen.push({ url: req.url ?? "", authorization: req.headers.authorization });
    const url = new URL(req.url ?? "/", "http://localhost");
    const send = (body: Buffer, type = "application/octet-stream") => {
      res.writeHead(200, { "content-type": type, "content-length": body.length });
      res.end(body);
    };
    switch (url.pathname) {
      case "/files/database.gz":
        return send(files.database, "application/gzip");
      case "/files/volume.tgz":
        return send(files.volume, "application/gzip");
      case "/go/database.gz":
        res.writeHead(302, { location: "/private/database.gz" });
        return res.end();
      case "/private/database.gz":
        if (req.headers.authorization !== `Basic ${Buffer.from("ada:p@ss word").toString("base64")}` || url.searchParams.get("sig") !== "s3cr3t") {
          res.writeHead(401);
          return res.end("who are you?");
        }
        return send(files.database, "application/gzip");
      case "/chunked/volume.tgz":
      case "/chunked/database.gz": {
        // No Content-Length: the size is only known once it has all arrived.
        const body = url.pathname.endsWith(".tgz") ? files.volume : files.database;
        res.writeHead(200, { "content-type": "application/gzip" });
        Readable.from([body.subarray(0, 100), body.subarray(100)]).pipe(res);
        return;
      }
      case "/silent/database.gz":
        return; // never answers: the client must give up waiting for the headers
      case "/bomb/database.gz":
        return send(gzipBombDump(), "application/gzip");
      case "/plain/database.gz":
        return send(Buffer.from("-- this is a plain SQL file, never gzip'd\nCREATE TABLE t (id int);\n".repeat(50)));
      case "/huge/database.gz":
        res.writeHead(200, { "content-length": String(10 * 1024 * 1024 * 1024) });
        res.write(Buffer.alloc(1024));
        return; // never ends: the client must give up on the size alone
      default:
        res.writeHead(404, { "content-type": "text/html" });
        return res.end("<h1>Not Found</h1>");
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on: bound by us, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe.each(DATABASE_KINDS)("import an external backup, with Lifeboat on %s", (kind) => {
  let handle: DbHandle;
  let storage: Storage;
  let root: string;
  let files: { database: Buffer; volume: Buffer };
  let web: Awaited<ReturnType<typeof startFileServer>>;
  let admin: Actor;
  let member: Actor;
  let environment: Environment;
  let deps: ImportDeps;

  const runJobs = () => runJobsUntilIdle(handle.db, { [IMPORT_QUEUE]: createImportJobHandler(deps) });

  async function importAndRun(remoteUrl: string, volumeUrl: string) {
    const queued = await requestImport({ db: handle.db, actor: admin, environment, allowPrivateNetworks: true, input: { remoteUrl, volumeUrl } });
    await runJobs();
    return (await getBackup(handle.db, { id: queued.id }))!;
  }

  beforeAll(async () => {
    process.env.NEXTAUTH_SECRET = SECRET;
    handle = await createTestDatabase(kind);
    await seedDemoProject(handle.db);
    root = await mkdtemp(path.join(tmpdir(), "lifeboat-import-"));
    storage = createStorage({ driver: "local", root: path.join(root, "storage") });
    // The file server is on loopback, which only an explicit allowance lets an import reach.
    deps = { db: handle.db, storage, progressIntervalMs: 20, allowPrivateNetworks: true };
    files = { database: gz(pgDump({ filler: 300_000 })), volume: await documentLibraryTgz({ extraBytes: 200_000 }) };
    web = await startFileServer(files);
    admin = await actorFor(handle.db, "alice@acme.test", [DEMO_GROUPS.admins]);
    member = await actorFor(handle.db, "mia@acme.test", [DEMO_GROUPS.members]);
    [environment] = (await handle.db.select().from(environments).where(eq(environments.name, "dev"))) as [Environment];
  });

  afterAll(async () => {
    await web?.close();
    await handle?.close();
    await rm(root, { recursive: true, force: true });
  });

  beforeEach(async () => {
    await handle.db.delete(jobs).where(sql`true`);
    web.seen.length = 0;
  });

  it("queues, then fetches, verifies and completes: the stored files are the served ones, byte for byte", async () => {
    const queued = await requestImport({
      db: handle.db,
      actor: admin,
      environment,
      allowPrivateNetworks: true,
      input: { remoteUrl: `${web.base}/files/database.gz`, volumeUrl: `${web.base}/chunked/volume.tgz`, name: "from the old host" },
    });
    expect(queued).toMatchObject({ status: "queued", origin: "imported", name: "from the old host", createdBy: admin.email, createdByType: "user" });
    expect(await getEnvironmentLock(handle.db, { environmentId: environment.id })).toMatchObject({ operation: "backup", backupId: queued.id });

    await runJobs();
    const backup = (await getBackup(handle.db, { id: queued.id }))!;
    expect(backup.statusReason).toBeNull();
    expect(backup).toMatchObject({ status: "completed", origin: "imported", verifyStatus: "passed", dbEngine: "postgresql" });
    expect(backup.verifyResult).toMatch(/database\.gz: PostgreSQL dump .* SHA-256 verified/);
    expect(await getEnvironmentLock(handle.db, { environmentId: environment.id })).toBeUndefined();

    const byKind = Object.fromEntries(backup.files.map((f) => [f.kind, f]));
    for (const k of ["database", "volume"] as const) {
      expect(byKind[k]).toMatchObject({ sizeBytes: files[k].length, sha256: sha256(files[k]), storageKey: backupObjectKey(queued.id, k) });
      expect(sha256(await readAll(await storage.getObject(backupObjectKey(queued.id, k))))).toBe(sha256(files[k]));
    }
    expect(backup.totalBytes).toBe(files.database.length + files.volume.length);
    expect(backup.progressBytes).toBe(backup.totalBytes);
    const manifest = backup.manifest as NonNullable<typeof backup.manifest> & { source?: unknown };
    expect(manifest).toMatchObject({ origin: "imported", createdBy: admin.email, database: { engine: "postgresql", dumpTool: "pg_dump 16.4" } });
    expect(manifest.files.map((f) => f.sha256).sort()).toEqual([sha256(files.database), sha256(files.volume)].sort());
    expect(manifest.source).toEqual({ remoteUrl: `${web.base}/files/database.gz`, volumeUrl: `${web.base}/chunked/volume.tgz` });

    const audit = await listAuditEvents(handle.db, { environmentId: environment.id });
    expect(audit.find((e) => e.backupId === queued.id)).toMatchObject({
      action: "backup.import",
      actor: admin.email,
      detail: expect.objectContaining({ source: { remote_url: `${web.base}/files/database.gz`, volume_url: `${web.base}/chunked/volume.tgz` } }),
    });
  });

  it("fails an imported gzip bomb with the setting to raise, keeping nothing", async () => {
    const saved = deps.expansion;
    // The shipped defaults, MAX_EXPANDED_SIZE=4TiB and MAX_EXPANSION_RATIO=200.
    deps.expansion = { maxBytes: 4 * 1024 ** 4, maxRatio: 200 };
    try {
      const backup = await importAndRun(`${web.base}/bomb/database.gz`, `${web.base}/files/volume.tgz`);
      expect(backup.status).toBe("failed");
      expect(backup.statusReason).toBe(
        "database.gz expands to more than 200× its size (MAX_EXPANSION_RATIO), which is how a gzip bomb looks. " +
          "If the file is genuine, an administrator of the Lifeboat server can raise MAX_EXPANSION_RATIO (0 turns the limit off).",
      );
      expect(await objectsUnder(storage, `backups/${backup.id}/`)).toEqual([]);
      expect(await getEnvironmentLock(handle.db, { environmentId: environment.id })).toBeUndefined();
    } finally {
      deps.expansion = saved;
    }
  });

  it("follows a redirect, sends user:password as basic auth, and never records the credentials or the query", async () => {
    const secretUrl = `http://ada:p%40ss%20word@${web.base.slice("http://".length)}/go/database.gz?sig=s3cr3t`;
    // The redirect target has no credentials of its own: they follow within the same origin, as curl's do.
    web.seen.length = 0;
    const backup = await importAndRun(secretUrl, `${web.base}/files/volume.tgz`);
    // The redirect drops the query (Location has none), so the private file answers 401: a readable reason, no secrets in it.
    expect(backup.status).toBe("failed");
    expect(backup.statusReason).toBe(`remote_url ${web.base}/private/database.gz: the server answered HTTP 401 Unauthorized.`);
    expect(web.seen.find((r) => r.url.startsWith("/private/"))?.authorization).toBe(`Basic ${Buffer.from("ada:p@ss word").toString("base64")}`);

    const direct = await importAndRun(
      `http://ada:p%40ss%20word@${web.base.slice("http://".length)}/private/database.gz?sig=s3cr3t`,
      `${web.base}/files/volume.tgz`,
    );
    expect(direct.statusReason).toBeNull();
    expect(direct.status).toBe("completed");
    const everything = JSON.stringify({
      backups: [backup, direct],
      audit: await listAuditEvents(handle.db, { environmentId: environment.id }),
      jobs: await handle.db.select().from(jobs),
    });
    expect(everything).not.toContain("p%40ss");
    expect(everything).not.toContain("p@ss");
    expect(everything).not.toContain("s3cr3t");
    expect(everything).toContain(`${web.base}/private/database.gz?…`);
  });

  it("fails a 404 with a reason naming it, keeps nothing, releases the lock and audits the failure", async () => {
    const backup = await importAndRun(`${web.base}/nowhere/database.gz`, `${web.base}/files/volume.tgz`);
    expect(backup.status).toBe("failed");
    expect(backup.statusReason).toBe(`remote_url ${web.base}/nowhere/database.gz: the server answered HTTP 404 Not Found.`);
    expect(backup.files).toEqual([]);
    expect(await objectsUnder(storage, `backups/${backup.id}/`)).toEqual([]);
    expect(await getEnvironmentLock(handle.db, { environmentId: environment.id })).toBeUndefined();
    const [job] = await handle.db.select().from(jobs);
    expect((await getJob(handle.db, { jobId: job!.id }))?.status).toBe("failed");
    const audit = await listAuditEvents(handle.db, { environmentId: environment.id });
    expect(audit.find((e) => e.backupId === backup.id)).toMatchObject({
      action: "backup.import_failed",
      detail: expect.objectContaining({ reason: backup.statusReason }),
    });
  });

  it("fails a file that is not gzip with the same reason an upload gets", async () => {
    const backup = await importAndRun(`${web.base}/plain/database.gz`, `${web.base}/files/volume.tgz`);
    expect(backup.status).toBe("failed");
    expect(backup.statusReason).toMatch(/^database\.gz is not a valid gzip file: .*\(the data is corrupt, or the file is not gzip-compressed\)/);
    expect(await objectsUnder(storage, `backups/${backup.id}/`)).toEqual([]);
  });

  it("fails a volume that is not a tar, a refused connection, an unknown host and a file over the limit, each readably", async () => {
    const wrongTar = await importAndRun(`${web.base}/files/database.gz`, `${web.base}/files/database.gz`);
    expect(wrongTar.statusReason).toMatch(/^database\.gz is not a tar archive/);

    const port = await closedPort();
    const refused = await importAndRun(`http://127.0.0.1:${port}/database.gz`, `${web.base}/files/volume.tgz`);
    expect(refused.statusReason).toBe(`remote_url http://127.0.0.1:${port}/database.gz: 127.0.0.1:${port} refused the connection (nothing listens there).`);

    const unknown = await importAndRun(`${web.base}/files/database.gz`, "http://backups.nowhere.invalid/volume.tgz");
    expect(unknown.statusReason).toMatch(
      /^volume_url http:\/\/backups\.nowhere\.invalid\/volume\.tgz: the host name backups\.nowhere\.invalid could not be resolved/,
    );

    const saved = deps.limits;
    deps.limits = { maxBytes: 1024 * 1024 };
    try {
      const huge = await importAndRun(`${web.base}/huge/database.gz`, `${web.base}/files/volume.tgz`);
      expect(huge.statusReason).toBe(`remote_url ${web.base}/huge/database.gz is 10 GiB, more than the 1.0 MiB an imported file may be.`);
      // Without a Content-Length the limit is enforced by counting: the dump is far larger than the volume.
      expect(files.database.length).toBeGreaterThan(files.volume.length + 10_000);
      deps.limits = { maxBytes: files.volume.length + 10 };
      const streamed = await importAndRun(`${web.base}/chunked/database.gz`, `${web.base}/files/volume.tgz`);
      expect(streamed.statusReason).toMatch(
        new RegExp(`^remote_url ${web.base}/chunked/database\\.gz is larger than the ${files.volume.length + 10} B an imported file may be\\.$`),
      );
    } finally {
      deps.limits = saved;
    }
    for (const backup of [wrongTar, refused, unknown]) {
      expect(backup.status).toBe("failed");
      expect(await objectsUnder(storage, `backups/${backup.id}/`)).toEqual([]);
    }
    expect(await getEnvironmentLock(handle.db, { environmentId: environment.id })).toBeUndefined();
  });

  it("gives up on a server that never answers, and on a body that stalls", async () => {
    const saved = deps.limits;
    deps.limits = { responseTimeoutMs: 1500, idleTimeoutMs: 1500 };
    try {
      const silent = await importAndRun(`${web.base}/silent/database.gz`, `${web.base}/files/volume.tgz`);
      expect(silent.statusReason).toBe(`remote_url ${web.base}/silent/database.gz: 127.0.0.1:${new URL(web.base).port} did not answer within 2 seconds.`);
      const stalled = await importAndRun(`${web.base}/huge/database.gz`, `${web.base}/files/volume.tgz`);
      expect(stalled.statusReason).toBe(`remote_url ${web.base}/huge/database.gz: no data arrived for 2 seconds after 1.0 KiB.`);
      for (const backup of [silent, stalled]) {
        expect(backup.status).toBe("failed");
        expect(await objectsUnder(storage, `backups/${backup.id}/`)).toEqual([]);
      }
    } finally {
      deps.limits = saved;
    }
  });

  it("refuses members (403), non-http URLs (400) and a busy environment (409)", async () => {
    const codeOf = (promise: Promise<unknown>) =>
      promise.then(
        () => "ok",
        (error: unknown) => (isAppError(error) ? `${error.status} ${error.message}` : String(error)),
      );
    const input = { remoteUrl: `${web.base}/files/database.gz`, volumeUrl: `${web.base}/files/volume.tgz` };
    expect(await codeOf(requestImport({ db: handle.db, actor: member, environment, input }))).toBe(
      "403 Only administrators of acme-dev may import backups into it.",
    );
    expect(
      await codeOf(
        requestImport({ db: handle.db, actor: admin, environment, allowPrivateNetworks: true, input: { ...input, volumeUrl: "file:///etc/passwd" } }),
      ),
    ).toMatch(/^400 volume_url must be an http/);

    const first = await requestImport({ db: handle.db, actor: admin, environment, allowPrivateNetworks: true, input });
    const second = await codeOf(requestImport({ db: handle.db, actor: admin, environment, allowPrivateNetworks: true, input }));
    expect(second).toMatch(/^409 acme-dev is busy: a backup \(.*\) started by alice@acme\.test is running/);
    expect(second).toContain(first.id);
    await runJobs();
    expect((await getBackup(handle.db, { id: first.id }))?.status).toBe("completed");
    expect(await codeOf(requestImport({ db: handle.db, actor: admin, environment, allowPrivateNetworks: true, input }))).toBe("ok");
    await runJobs();
  });

  it("refuses loopback and other internal URLs by default: at once when the URL says so, and again when the job connects, never sending a request", async () => {
    const codeOf = (promise: Promise<unknown>) =>
      promise.then(
        () => "ok",
        (error: unknown) => (isAppError(error) ? `${error.status} ${error.message}` : String(error)),
      );
    const allow =
      "Use a URL on the public internet, or ask an administrator of the Lifeboat server to allow such addresses with IMPORT_ALLOW_PRIVATE_NETWORKS=true.";
    const volumeUrl = "https://files.example.com/volume.tgz";
    for (const [url, host] of [
      [`${web.base}/files/database.gz`, "127.0.0.1"],
      ["http://169.254.169.254/latest/meta-data/", "169.254.169.254"],
      ["http://[::ffff:10.0.0.1]/db.gz", "[::ffff:a00:1]"],
      ["http://localhost:8080/db.gz", "localhost"],
    ] as const) {
      expect(await codeOf(requestImport({ db: handle.db, actor: admin, environment, allowPrivateNetworks: false, input: { remoteUrl: url, volumeUrl } }))).toBe(
        `400 remote_url points to a private, reserved or internal address (${host}), which Lifeboat does not fetch from. ${allow}`,
      );
    }
    expect(await getEnvironmentLock(handle.db, { environmentId: environment.id })).toBeUndefined();

    // Queued while allowed, run by a server that does not allow it: the job checks again, before connecting.
    const saved = deps.allowPrivateNetworks;
    deps.allowPrivateNetworks = false;
    try {
      const backup = await importAndRun(`${web.base}/files/database.gz`, `${web.base}/files/volume.tgz`);
      expect(backup.status).toBe("failed");
      expect(backup.statusReason).toMatch(
        /^(remote|volume)_url points to a private, reserved or internal address \(127\.0\.0\.1\), which Lifeboat does not fetch from\. /,
      );
      expect(backup.statusReason).toContain(allow);
      expect(web.seen).toHaveLength(0);
      expect(await objectsUnder(storage, `backups/${backup.id}/`)).toEqual([]);
      expect(await getEnvironmentLock(handle.db, { environmentId: environment.id })).toBeUndefined();
    } finally {
      deps.allowPrivateNetworks = saved;
    }
  });

  it("an import whose worker dies is run again, then failed with its lock released and nothing stored", async () => {
    const queued = await requestImport({
      db: handle.db,
      actor: admin,
      environment,
      allowPrivateNetworks: true,
      input: { remoteUrl: `${web.base}/files/database.gz`, volumeUrl: `${web.base}/files/volume.tgz` },
    });
    const handlers = { [IMPORT_QUEUE]: createImportJobHandler(deps) };
    for (const attempt of [1, 2]) {
      const { job, swept } = await workerDiesThenSweep({
        db: handle.db,
        queue: IMPORT_QUEUE,
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
      else expect(backup).toMatchObject({ status: "failed", statusReason: ABANDONED_IMPORT_REASON });
    }
    expect(await objectsUnder(storage, `backups/${queued.id}/`)).toEqual([]);
    const audit = await listAuditEvents(handle.db, { environmentId: environment.id });
    expect(audit.find((e) => e.backupId === queued.id)?.action).toBe("backup.import_failed");
  });
});

describe("redactUrl", () => {
  it("drops userinfo, the query's values and the fragment", () => {
    expect(redactUrl("https://user:secret@s3.amazonaws.com/bucket/db.gz?AWSAccessKeyId=AKIA&Signature=x#frag")).toBe("https://s3.amazonaws.com/bucket/db.gz?…");
    expect(redactUrl("http://example.com:8080/a/b.tgz")).toBe("http://example.com:8080/a/b.tgz");
    expect(redactUrl("not a url")).toBe("(an invalid URL)");
  });
});
