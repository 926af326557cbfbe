import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, request as httpRequest } from "node:http";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";

import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

import { documentLibraryTgz, gz, gzipBombDump, gzipBombVolume, pgDump } from "@/lib/backups/verify/testing";
import { acquireEnvironmentLock, releaseEnvironmentLock } from "@/lib/db/queries/locks";
import { upsertUserOnSignIn } from "@/lib/db/queries/users";
import { auditEvents, backupFiles, backups } from "@/lib/db/schema";
import { createNodeRouter } from "@/lib/http/node-router";
import { until } from "@/lib/testing/until";
import { createApiToken, revokeApiToken } from "@/lib/tokens/tokens";
import { startHarness } from "@/lib/uploads/testing";
import type { Harness, TestUser } from "@/lib/uploads/testing";

import { parseBackupHost } from "./environment";
import { createLiferayUploadHandler } from "./upload-handler";

vi.hoisted(() => {
  process.env.LOG_LEVEL ??= "silent";
});

/*
 * The seeds' curl lines, verbatim, run by the real curl binary against the
 * byte-path router. Only the host (`https://backup-[Project name]-[Environment].lfr.cloud`
 * → our server) and the credentials change, plus the folder the files are in.
 */
const SEED_UPLOAD_BASIC = `curl -X POST \\
  https://backup-[Project name]-[Environment].lfr.cloud/backup/upload \\
  -H 'Content-Type: multipart/form-data' \\
  -F 'database=@/my-folder/database.gz' \\
  -F 'volume=@/my-folder/volume.tgz' \\
  -u user@domain.com:password`;

const SEED_UPLOAD_TOKEN = `curl -X POST \\
  https://backup-[Project name]-[Environment].lfr.cloud/backup/upload \\
  -H 'Content-Type: multipart/form-data' \\
  -H 'dxpcloud-authorization: Bearer [User token]' \\
  -F 'database=@/my-folder/database.gz' \\
  -F 'volume=@/my-folder/volume.tgz'`;

// The older page's line (000): a database.tgz, which Lifeboat refuses with a clear 400.
const SEED_UPLOAD_OLD = `curl -X POST \\
  https://backup-<PROJECT-NAME>-prd.lfr.cloud/backup/upload \\
  -H 'Content-Type: multipart/form-data' \\
  -F 'database=@/my-folder/database.tgz' \\
  -F 'volume=@/my-folder/volume.tgz' \\
  -u user@domain.com:password`;

const SEED_DOWNLOAD_DATABASE = `curl -X GET \\
  https://backup-[Project name]-[Environment].lfr.cloud/backup/download/database/[ID] \\
  -u user@domain.com:password \\
  --output database.gz`;

const SEED_DOWNLOAD_VOLUME = `curl -X GET \\
  https://backup-[Project name]-[Environment].lfr.cloud/backup/download/volume/[ID] \\
  -u user@domain.com:password \\
  --output volume.tgz`;

interface CurlResult {
  code: number;
  stdout: string;
  stderr: string;
}

function runShell(command: string, cwd: string): Promise<CurlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", command], { cwd });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

describe.each(["local", "s3"] as const)("the Liferay backup API with API tokens, driven by curl, on %s storage", (driver) => {
  let h: Harness;
  let dir: string;
  let port: string;
  let database: Buffer;
  let volume: Buffer;
  let adminToken: string;
  let uatToken: string;
  let memberToken: string;

  async function tokenFor(user: TestUser, input: { environment?: string; expiresInDays?: number | null; now?: Date } = {}) {
    const environmentId = input.environment ? (await h.environment(input.environment)).id : null;
    return createApiToken(h.handle.db, {
      actor: user.actor,
      input: { name: "curl", expiresInDays: input.expiresInDays ?? null, environmentId },
      productionOnly: false,
      now: input.now,
    });
  }

  /** The seed line with our host (the Liferay host form on *.localhost, which curl resolves to loopback) and credentials. */
  function seedCommand(
    template: string,
    { host, email, token, id, folder = dir }: { host: string; email?: string; token?: string; id?: string; folder?: string },
  ): string {
    let command = template
      .replace(/https:\/\/backup-\[Project name\]-\[Environment\]\.lfr\.cloud/, `http://${host}`)
      .replace(/https:\/\/backup-<PROJECT-NAME>-prd\.lfr\.cloud/, `http://${host}`)
      .replaceAll("/my-folder/", `${folder}/`);
    if (email && token) command = command.replace("user@domain.com:password", `${email}:${token}`);
    if (token) command = command.replace("[User token]", token);
    if (id) command = command.replace("[ID]", id);
    return command;
  }

  async function upload(template: string, options: Parameters<typeof seedCommand>[1]) {
    const result = await runShell(seedCommand(template, options), dir);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as { backupId?: string; environment?: string; project?: string; error?: { code: string; message: string } };
  }

  async function download(kind: "database" | "volume", id: string, { email, token, host }: { email: string; token: string; host: string }) {
    const out = await mkdtemp(path.join(tmpdir(), "lifeboat-curl-out-"));
    try {
      const result = await runShell(seedCommand(kind === "database" ? SEED_DOWNLOAD_DATABASE : SEED_DOWNLOAD_VOLUME, { host, email, token, id }), out);
      expect(result.code, result.stderr).toBe(0);
      return await readFile(path.join(out, kind === "database" ? "database.gz" : "volume.tgz"));
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }

  const host = (environment: string) => `backup-acme-${environment}.localhost:${port}`;

  async function storedUploadObjects(): Promise<string[]> {
    const keys: string[] = [];
    for await (const info of h.storage.list("uploads/")) keys.push(info.key);
    return keys;
  }

  async function backupCount(): Promise<number> {
    return (await h.handle.db.select().from(backups)).length;
  }

  beforeAll(async () => {
    h = await startHarness({ driver });
    port = new URL(h.baseUrl).port;
    for (const user of [h.users.admin, h.users.member]) {
      await upsertUserOnSignIn(h.handle.db, { id: user.actor.id, email: user.email, name: user.actor.name, groups: user.actor.groups });
    }
    dir = await mkdtemp(path.join(tmpdir(), "lifeboat-curl-"));
    database = gz(pgDump({ filler: 256 * 1024 }));
    volume = await documentLibraryTgz({ extraBytes: 300 * 1024 });
    await writeFile(path.join(dir, "database.gz"), database);
    await writeFile(path.join(dir, "volume.tgz"), volume);
    await writeFile(path.join(dir, "database.tgz"), volume);
    adminToken = (await tokenFor(h.users.admin)).token;
    uatToken = (await tokenFor(h.users.admin, { environment: "uat" })).token;
    memberToken = (await tokenFor(h.users.member)).token;
  });

  afterAll(async () => {
    await h?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  let prdBackupId = "";

  it("uploads with basic auth (e-mail and token) to the host's environment, then downloads both files intact", async () => {
    const body = await upload(SEED_UPLOAD_BASIC, { host: host("prd"), email: h.users.admin.email, token: adminToken });
    expect(body.error).toBeUndefined();
    expect(body).toMatchObject({ project: "acme", environment: "prd" });
    prdBackupId = body.backupId!;
    const [backup] = await h.handle.db.select().from(backups).where(eq(backups.id, prdBackupId));
    expect(backup).toMatchObject({
      origin: "uploaded",
      status: "completed",
      verifyStatus: "passed",
      createdBy: h.users.admin.email,
      environmentId: (await h.environment("prd")).id,
    });
    const files = await h.handle.db.select().from(backupFiles).where(eq(backupFiles.backupId, prdBackupId));
    expect(Object.fromEntries(files.map((f) => [f.kind, f.sha256]))).toEqual({ database: sha256(database), volume: sha256(volume) });
    const [audit] = await h.handle.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.backupId, prdBackupId), eq(auditEvents.action, "backup.upload")));
    expect(audit).toMatchObject({ actorType: "token", actor: h.users.admin.email });

    const credentials = { email: h.users.admin.email, token: adminToken, host: host("prd") };
    expect(sha256(await download("database", prdBackupId, credentials))).toBe(sha256(database));
    expect(sha256(await download("volume", prdBackupId, credentials))).toBe(sha256(volume));
    const downloads = await h.handle.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.backupId, prdBackupId), eq(auditEvents.action, "backup.download")));
    expect(downloads.map((d) => d.actorType)).toEqual(["token", "token"]);
  });

  it("uploads with dxpcloud-authorization: Bearer to uat, named by the host", async () => {
    const body = await upload(SEED_UPLOAD_TOKEN, { host: host("uat"), token: adminToken });
    expect(body).toMatchObject({ environment: "uat" });
    const [backup] = await h.handle.db.select().from(backups).where(eq(backups.id, body.backupId!));
    expect(backup?.environmentId).toBe((await h.environment("uat")).id);
  });

  it("uploads with Authorization: Bearer on a plain host to the project's production environment", async () => {
    const body = await upload(SEED_UPLOAD_TOKEN.replace("dxpcloud-authorization", "Authorization"), { host: `127.0.0.1:${port}`, token: adminToken });
    expect(body).toMatchObject({ environment: "prd" });
  });

  it("takes the environment from a Host header, and from a scoped token on a plain host", async () => {
    const withHost = `${SEED_UPLOAD_TOKEN} -H 'Host: backup-acme-dev.localhost'`;
    expect(await upload(withHost, { host: `127.0.0.1:${port}`, token: adminToken })).toMatchObject({ environment: "dev" });
    expect(await upload(SEED_UPLOAD_TOKEN, { host: `localhost:${port}`, token: uatToken })).toMatchObject({ environment: "uat" });
    // A uat token cannot reach prd through the host name either: prd does not exist for it.
    expect((await upload(SEED_UPLOAD_TOKEN, { host: host("prd"), token: uatToken })).error?.code).toBe("not_found");
  });

  it("answers 401 to revoked and expired tokens, with the reason", async () => {
    const revoked = await tokenFor(h.users.admin);
    await revokeApiToken(h.handle.db, { actor: h.users.admin.actor, tokenId: revoked.view.id });
    const before = await backupCount();
    const revokedReply = await upload(SEED_UPLOAD_BASIC, { host: host("prd"), email: h.users.admin.email, token: revoked.token });
    expect(revokedReply.error).toEqual({ code: "unauthorized", message: "The API token has been revoked." });

    const expired = await tokenFor(h.users.admin, { expiresInDays: 1, now: new Date(Date.now() - 3 * 24 * 60 * 60 * 1000) });
    const out = await mkdtemp(path.join(tmpdir(), "lifeboat-curl-out-"));
    const result = await runShell(
      seedCommand(SEED_DOWNLOAD_DATABASE, { host: host("prd"), email: h.users.admin.email, token: expired.token, id: prdBackupId }),
      out,
    );
    expect(result.code).toBe(0);
    expect(JSON.parse(await readFile(path.join(out, "database.gz"), "utf8"))).toEqual({
      error: { code: "unauthorized", message: "The API token has expired." },
    });
    await rm(out, { recursive: true, force: true });
    expect(await backupCount()).toBe(before);
  });

  it("keeps a uat token out of prd (404) and a member's token out of prd downloads (403)", async () => {
    const uat = await download("database", prdBackupId, { email: h.users.admin.email, token: uatToken, host: host("prd") });
    expect(JSON.parse(uat.toString("utf8")).error.code).toBe("not_found");
    const member = await download("database", prdBackupId, { email: h.users.member.email, token: memberToken, host: host("prd") });
    expect(JSON.parse(member.toString("utf8")).error).toMatchObject({ code: "forbidden", message: expect.stringContaining("Only administrators of acme-prd") });
    // …and may not upload there either.
    expect((await upload(SEED_UPLOAD_BASIC, { host: host("prd"), email: h.users.member.email, token: memberToken })).error?.code).toBe("forbidden");
  });

  it("refuses a corrupt database.gz with 422 and keeps nothing", async () => {
    const bad = await mkdtemp(path.join(tmpdir(), "lifeboat-curl-bad-"));
    const corrupt = Buffer.from(database);
    corrupt.fill(0x41, 40, 4000);
    await writeFile(path.join(bad, "database.gz"), corrupt);
    await writeFile(path.join(bad, "volume.tgz"), volume);
    const before = await backupCount();
    const body = await upload(SEED_UPLOAD_BASIC, { host: host("uat"), email: h.users.admin.email, token: adminToken, folder: bad });
    expect(body.error?.code).toBe("unprocessable");
    expect(body.error?.message).toMatch(/database\.gz/);
    expect(await backupCount()).toBe(before);
    // Every object under uploads/ belongs to a backup; the failed upload's are gone.
    const kept = (await h.handle.db.select().from(backupFiles)).map((f) => f.storageKey).sort();
    expect((await storedUploadObjects()).sort()).toEqual(kept);
    const failures = await h.handle.db.select().from(auditEvents).where(eq(auditEvents.action, "backup.upload_failed"));
    expect(failures.at(-1)).toMatchObject({ actorType: "token" });
    await rm(bad, { recursive: true, force: true });
  });

  it("refuses gzip bombs with 422 naming MAX_EXPANSION_RATIO (the configured default, 200), and keeps nothing", async () => {
    const bad = await mkdtemp(path.join(tmpdir(), "lifeboat-curl-bomb-"));
    await writeFile(path.join(bad, "database.gz"), gzipBombDump());
    await writeFile(path.join(bad, "volume.tgz"), gzipBombVolume());
    const before = await backupCount();
    const body = await upload(SEED_UPLOAD_BASIC, { host: host("uat"), email: h.users.admin.email, token: adminToken, folder: bad });
    const advice = "If the file is genuine, an administrator of the Lifeboat server can raise MAX_EXPANSION_RATIO (0 turns the limit off).";
    expect(body.error).toEqual({
      code: "unprocessable",
      message:
        `database.gz expands to more than 200× its size (MAX_EXPANSION_RATIO), which is how a gzip bomb looks. ${advice} ` +
        `volume.tgz expands to more than 200× its size (MAX_EXPANSION_RATIO), which is how a gzip bomb looks. ${advice}`,
    });
    expect(await backupCount()).toBe(before);
    const kept = (await h.handle.db.select().from(backupFiles)).map((f) => f.storageKey).sort();
    expect((await storedUploadObjects()).sort()).toEqual(kept);
    await rm(bad, { recursive: true, force: true });
  });

  it("names a missing field (400), and refuses the older page's database.tgz with a clear 400", async () => {
    const before = await storedUploadObjects();
    const noVolume = SEED_UPLOAD_BASIC.replace(" \\\n  -F 'volume=@/my-folder/volume.tgz'", "");
    expect(noVolume).not.toContain("volume=");
    const missing = await upload(noVolume, { host: host("uat"), email: h.users.admin.email, token: adminToken });
    expect(missing.error).toMatchObject({ code: "bad_request", message: expect.stringContaining("volume file is missing") });
    const old = await upload(SEED_UPLOAD_OLD, { host: host("prd"), email: h.users.admin.email, token: adminToken });
    expect(old.error).toMatchObject({ code: "bad_request", message: expect.stringContaining("database.tgz cannot be the database file") });
    expect(await storedUploadObjects()).toEqual(before);
  });

  it("answers 409 while the environment is busy and stores nothing", async () => {
    const environment = await h.environment("dev");
    const lock = await acquireEnvironmentLock(h.handle.db, {
      environmentId: environment.id,
      operation: "restore",
      holder: "restore:test:ops@acme.test",
      ttlMs: 60_000,
    });
    expect(lock.acquired).toBe(true);
    try {
      const before = await storedUploadObjects();
      const body = await upload(SEED_UPLOAD_TOKEN, { host: host("dev"), token: adminToken });
      expect(body.error).toMatchObject({ code: "conflict", message: expect.stringContaining("acme-dev is busy") });
      expect(await storedUploadObjects()).toEqual(before);
    } finally {
      await releaseEnvironmentLock(h.handle.db, { environmentId: environment.id, holder: "restore:test:ops@acme.test" });
    }
  });

  it("answers 413 for a file over the per-file limit, and for a Content-Length beyond two of them", async () => {
    const small = createNodeRouter([{ methods: ["POST"], pattern: /^\/backup\/upload$/, handler: createLiferayUploadHandler({ maxFileSize: 1024 }) }]);
    const server: Server = createServer((req, res) => {
      if (!small(req, res)) res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const smallPort = (server.address() as AddressInfo).port;
      const before = await storedUploadObjects();
      const tooBig = await upload(SEED_UPLOAD_TOKEN, { host: `backup-acme-uat.localhost:${smallPort}`, token: adminToken });
      expect(tooBig.error?.code).toBe("payload_too_large");
      expect(await storedUploadObjects()).toEqual(before);
      const declared = await runShell(
        `curl -s -X POST http://127.0.0.1:${smallPort}/backup/upload -H 'Authorization: Bearer ${adminToken}' -H 'Content-Type: multipart/form-data; boundary=x' -H 'Content-Length: 999999999' --max-time 5 -w '\\n%{http_code}' || true`,
        dir,
      );
      expect(declared.stdout.trim().split("\n").at(-1)).toBe("413");
    } finally {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
  });
});

describe("backup host names", () => {
  it("reads project and environment from backup-<project>-<environment>.<domain>", () => {
    expect(parseBackupHost("backup-lfrjoebloggs-prd.lfr.cloud")).toEqual({ projectId: "lfrjoebloggs", environment: "prd" });
    expect(parseBackupHost("Backup-Acme-UAT.localhost:3000")).toEqual({ projectId: "acme", environment: "uat" });
    expect(parseBackupHost("localhost:3000")).toBeNull();
    expect(parseBackupHost("127.0.0.1")).toBeNull();
    expect(parseBackupHost("backup-acme.example.com")).toBeNull();
  });
});

describe("POST /backup/upload with a large file", () => {
  let h: Harness;
  let dir: string;

  beforeAll(async () => {
    h = await startHarness({ driver: "local" });
    const admin = h.users.admin;
    await upsertUserOnSignIn(h.handle.db, { id: admin.actor.id, email: admin.email, name: admin.actor.name, groups: admin.actor.groups });
    dir = await mkdtemp(path.join(tmpdir(), "lifeboat-curl-large-"));
  });
  afterAll(async () => {
    await h?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("streams a 160 MiB database.gz into storage without holding it in memory", async () => {
    // Stored gzip (level 0): 160 MiB of SQL on disk is 160 MiB on the wire, and curl sends Expect: 100-continue.
    const size = 160 * 1024 * 1024;
    const [head, tail] = pgDump().split("--\n-- PostgreSQL database dump complete");
    const row = `${"x".repeat(1000)}\n`;
    async function* dump() {
      yield Buffer.from(`${head}COPY public.filler (data) FROM stdin;\n`);
      const block = Buffer.from(row.repeat(1024));
      for (let sent = 0; sent < size; sent += block.length) yield block;
      yield Buffer.from(`\\.\n\n--\n-- PostgreSQL database dump complete${tail}`);
    }
    await pipeline(Readable.from(dump()), createGzip({ level: 0 }), createWriteStream(path.join(dir, "database.gz")));
    const volume = await documentLibraryTgz();
    await writeFile(path.join(dir, "volume.tgz"), volume);
    const { token } = await createApiToken(h.handle.db, {
      actor: h.users.admin.actor,
      input: { name: "large", expiresInDays: 1, environmentId: null },
      productionOnly: false,
    });

    // Buffers live outside the JS heap; arrayBuffers counts them whether or not the OS got freed pages back.
    const held = () => process.memoryUsage().arrayBuffers;
    const baseline = held();
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, held())), 20);
    const port = new URL(h.baseUrl).port;
    const command = SEED_UPLOAD_TOKEN.replace(/https:\/\/backup-\[Project name\]-\[Environment\]\.lfr\.cloud/, `http://backup-acme-uat.localhost:${port}`)
      .replaceAll("/my-folder/", `${dir}/`)
      .replace("[User token]", token);
    const result = await runShell(command, dir).finally(() => clearInterval(sampler));
    expect(result.code, result.stderr).toBe(0);
    const body = JSON.parse(result.stdout) as { backupId?: string; files?: { kind: string; size: number; sha256: string }[] };
    expect(body.backupId).toMatch(/^acme-[a-z]+-\d{12}$/);
    const onDisk = await readFile(path.join(dir, "database.gz"));
    expect(body.files?.find((f) => f.kind === "database")).toMatchObject({ size: onDisk.length, sha256: sha256(onDisk) });
    // Buffering the body would hold all 160 MiB at once; streaming holds socket and file buffers plus garbage not yet collected (~30 MiB here).
    expect(peak - baseline).toBeLessThan(100 * 1024 * 1024);
  }, 120_000);
});

describe("POST /backup/upload when the client goes away", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ driver: "local" });
    const admin = h.users.admin;
    await upsertUserOnSignIn(h.handle.db, { id: admin.actor.id, email: admin.email, name: admin.actor.name, groups: admin.actor.groups });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("discards the half-written file and keeps answering", async () => {
    const { token } = await createApiToken(h.handle.db, {
      actor: h.users.admin.actor,
      input: { name: "gone", expiresInDays: 1, environmentId: null },
      productionOnly: false,
    });
    const boundary = "lifeboat-test-boundary";
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="database"; filename="database.gz"\r\nContent-Type: application/gzip\r\n\r\n`,
    );
    const req = httpRequest(`${h.baseUrl}/backup/upload`, {
      method: "POST",
      agent: false,
      headers: { authorization: `Bearer ${token}`, "content-type": `multipart/form-data; boundary=${boundary}`, "content-length": String(64 * 1024 * 1024) },
    });
    req.on("error", () => undefined);
    req.write(head);
    await new Promise<void>((resolve) => req.write(gz(pgDump({ filler: 2 * 1024 * 1024 })), () => resolve()));
    // The connection drops only once the server is writing the file: there is a half-written file to discard.
    const tmp = path.join(h.localRoot!, "tmp");
    const written = async () => [...(await readdir(tmp).catch(() => [])), ...(await storedKeys(h))];
    await until(async () => (await written()).length > 0, 10_000, 20, "the upload's file in storage");
    req.destroy();

    // The handler has returned: whatever it was going to leave behind is there now.
    await h.handlers.settled();
    expect(await written()).toEqual([]);
    // The server is not stuck: the next request is answered.
    const health = await runShell(
      `curl -s -X POST http://127.0.0.1:${new URL(h.baseUrl).port}/backup/upload -H 'Authorization: Bearer ${token}' -F 'volume=@/dev/null;filename=volume.tgz'`,
      tmpdir(),
    );
    expect(JSON.parse(health.stdout).error.message).toMatch(/empty|missing/);
  });
});

async function storedKeys(h: Harness): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of h.storage.list("uploads/")) keys.push(info.key);
  return keys;
}
