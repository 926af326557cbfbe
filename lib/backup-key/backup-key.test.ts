import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";

import { and, eq } from "drizzle-orm";
import { sessionCookie } from "@/lib/auth/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { generateBackupId } from "@/lib/backups/backup-id";
import { documentLibraryTgz, gz, pgDump } from "@/lib/backups/verify/testing";
import { createDecryptStream } from "@/lib/crypto/stream-cipher";
import type { DbHandle } from "@/lib/db/client";
import { auditEvents, backupFiles, backups, environments } from "@/lib/db/schema";
import type { Environment } from "@/lib/db/schema";
import { DEMO_GROUPS, seedDemoProject } from "@/lib/db/seed";
import { createTestDatabase } from "@/lib/db/testing";
import { createNodeRouter } from "@/lib/http/node-router";
import { createStorage } from "@/lib/storage";
import type { Storage } from "@/lib/storage/types";
import { trackHandlers } from "@/lib/testing/handler-tracker";

import { backupKeyMatches, createBackupKeyHandler } from "./handler";

/*
 * The SysReptor seed's curl lines, verbatim but for the host, the session
 * cookie and the placeholders, run by the real curl against the handler on
 * a loopback server; the archive is unpacked by the real tar.
 */
const SEED_BACKUP = `curl -X POST https://sysreptor.example.com/api/v1/utils/backup/ -d '{"key": "<backup-key>"}' -H 'Cookie: sessionid=<session-id>' -H "Content-Type: application/json" -o backup.zip`;
const SEED_ENCRYPTED = `curl -X POST https://sysreptor.example.com/api/v1/utils/backup/ -d '{"key": "<backup-key>", "aes_key": "<aes-key-as-hex>"}' -H 'Cookie: sessionid=<session-id>' -H "Content-Type: application/json" -o backup.zip.crypt`;

const SECRET = "backup-key-tests-secret-long-enough-0123456789";
const BACKUP_KEY = "a-backup-key-of-more-than-20-characters";
const DB_KEY = Symbol.for("lifeboat.db");
const STORAGE_KEY = Symbol.for("lifeboat.storage");
const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

function sh(command: string, cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
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

async function decrypt(data: Buffer, aesKey: string): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(
    Readable.from([data]),
    createDecryptStream(aesKey),
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        out.push(chunk);
        callback();
      },
    }),
  );
  return Buffer.concat(out);
}

describe("the backup-key endpoint (POST /api/v1/utils/backup/)", () => {
  let handle: DbHandle;
  let storage: Storage;
  let root: string;
  let server: Server;
  let base: string;
  let key: string | undefined = BACKUP_KEY;
  const handlers = trackHandlers([{ methods: ["POST"], pattern: /^\/api\/v1\/utils\/backup\/?$/, handler: createBackupKeyHandler({ backupKey: () => key }) }]);
  const cookies: Record<"admin" | "member" | "nonprod", string> = { admin: "", member: "", nonprod: "" };
  const made: Record<string, { id: string; database: Buffer; volume: Buffer }> = {};

  async function environment(name: string): Promise<Environment> {
    const [env] = await handle.db
      .select()
      .from(environments)
      .where(and(eq(environments.projectId, "acme"), eq(environments.name, name)));
    return env!;
  }

  /** A completed backup with real files in storage. */
  async function storeBackup(envName: string, createdAt: Date, status: "completed" | "running" = "completed") {
    const env = await environment(envName);
    const id = generateBackupId("acme", createdAt);
    const files = { database: gz(pgDump({ tables: ["user_", `t_${envName}`] })), volume: await documentLibraryTgz({ extraBytes: 3000 }) };
    await handle.db.insert(backups).values({
      id,
      environmentId: env.id,
      origin: "manual",
      status,
      dbEngine: "postgresql",
      createdBy: "alice@acme.test",
      createdAt,
      completedAt: status === "completed" ? createdAt : null,
    });
    for (const kind of ["database", "volume"] as const) {
      const storageKey = `backups/${id}/${kind === "database" ? "database.gz" : "volume.tgz"}`;
      await storage.putObject(storageKey, Readable.from([files[kind]]));
      await handle.db.insert(backupFiles).values({
        backupId: id,
        kind,
        fileName: kind === "database" ? "database.gz" : "volume.tgz",
        sizeBytes: files[kind].length,
        sha256: sha256(files[kind]),
        storageKey,
      });
    }
    return { id, ...files };
  }

  function post(body: unknown, who: keyof typeof cookies | null = "admin"): Promise<Response> {
    return fetch(`${base}/api/v1/utils/backup/`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(who ? { cookie: cookies[who] } : {}) },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
  }

  async function errorOf(response: Response): Promise<string> {
    const body = (await response.json()) as { error: { code: string; message: string } };
    return `${response.status} ${body.error.code}: ${body.error.message}`;
  }

  async function auditRows(backupId: string) {
    // The audit row is written once the response has ended: when the handler has returned.
    await handlers.settled();
    return handle.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.backupId, backupId), eq(auditEvents.action, "backup.key_download")));
  }

  function seedLine(template: string, aesKey = ""): string {
    return template
      .replace("https://sysreptor.example.com", base)
      .replace("<backup-key>", BACKUP_KEY)
      .replace("<aes-key-as-hex>", aesKey)
      .replace("sessionid=<session-id>", cookies.admin);
  }

  beforeAll(async () => {
    process.env.NEXTAUTH_SECRET = SECRET;
    delete process.env.NEXTAUTH_URL;
    handle = await createTestDatabase("pglite");
    await seedDemoProject(handle.db);
    root = await mkdtemp(path.join(tmpdir(), "lifeboat-backup-key-"));
    storage = createStorage({ driver: "local", root: path.join(root, "storage") });
    const g = globalThis as Record<symbol, unknown>;
    g[DB_KEY] = handle;
    g[STORAGE_KEY] = storage;
    const cookie = (email: string, groups: string[]) => sessionCookie(handle.db, { sub: `sub-${email}`, email, name: email, groups }, SECRET);
    cookies.admin = await cookie("alice@acme.test", [DEMO_GROUPS.admins]);
    cookies.member = await cookie("mia@acme.test", [DEMO_GROUPS.members]);
    cookies.nonprod = await cookie("nina@acme.test", [DEMO_GROUPS.nonprodAdmins]);

    made.prdOld = await storeBackup("prd", new Date("2026-01-01T03:00:00Z"));
    made.prdNew = await storeBackup("prd", new Date("2026-02-01T03:00:00Z"));
    made.uat = await storeBackup("uat", new Date("2026-01-15T03:00:00Z"));
    made.running = await storeBackup("dev", new Date("2026-03-01T03:00:00Z"), "running");

    const route = createNodeRouter(handlers.routes);
    server = createServer((req, res) => {
      if (!route(req, res)) res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    const g = globalThis as Record<symbol, unknown>;
    delete g[DB_KEY];
    delete g[STORAGE_KEY];
    await handle?.close();
    await rm(root, { recursive: true, force: true });
  });

  it("runs the seed's curl line: a tar of manifest.json, database.gz and volume.tgz of the newest backup the caller administers", async () => {
    const dir = await mkdtemp(path.join(root, "curl-"));
    const result = await sh(seedLine(SEED_BACKUP), dir);
    expect(result.code, result.stderr).toBe(0);
    const listing = await sh("tar -tvf backup.zip", dir);
    expect(
      listing.stdout
        .split("\n")
        .filter(Boolean)
        .map((line) => line.split(/\s+/).pop()),
    ).toEqual(["manifest.json", "database.gz", "volume.tgz"]);
    expect((await sh("tar -xf backup.zip", dir)).code).toBe(0);
    // The newest completed backup of prd, uat and dev (dev's is still running): prd's February one.
    expect(sha256(await readFile(path.join(dir, "database.gz")))).toBe(sha256(made.prdNew!.database));
    expect(sha256(await readFile(path.join(dir, "volume.tgz")))).toBe(sha256(made.prdNew!.volume));
    const manifest = JSON.parse(await readFile(path.join(dir, "manifest.json"), "utf8")) as {
      backupId: string;
      project: string;
      environment: string;
      files: { sha256: string }[];
    };
    expect(manifest).toMatchObject({ backupId: made.prdNew!.id, project: "acme", environment: "prd" });
    expect(manifest.files.map((f) => f.sha256)).toEqual([sha256(made.prdNew!.database), sha256(made.prdNew!.volume)]);
    // The files inside are the real thing: the dump decompresses, the volume lists its document library.
    expect((await sh("gunzip -c database.gz | head -c 200", dir)).stdout).toContain("PostgreSQL database dump");
    expect((await sh("tar -tzf volume.tgz", dir)).stdout).toContain("document_library/");

    const [row] = await auditRows(made.prdNew!.id);
    expect(row).toMatchObject({
      actor: "alice@acme.test",
      actorType: "user",
      detail: expect.objectContaining({ encrypted: false, complete: true, selectedBy: "newest" }),
    });
  });

  it("runs the seed's encrypted line: LBAES1 that decrypts to exactly the plain archive", async () => {
    const aesKey = randomBytes(32).toString("hex");
    const dir = await mkdtemp(path.join(root, "curl-aes-"));
    const result = await sh(seedLine(SEED_ENCRYPTED, aesKey), dir);
    expect(result.code, result.stderr).toBe(0);
    const sealed = await readFile(path.join(dir, "backup.zip.crypt"));
    expect(sealed.subarray(0, 6).toString()).toBe("LBAES1");
    expect(sealed.includes(made.prdNew!.database.subarray(0, 64))).toBe(false);

    const plain = await post({ key: BACKUP_KEY });
    expect(plain.status).toBe(200);
    expect(plain.headers.get("content-type")).toBe("application/x-tar");
    const tar = Buffer.from(await plain.arrayBuffer());
    expect(Number(plain.headers.get("content-length"))).toBe(tar.length);
    const opened = await decrypt(sealed, aesKey);
    expect(opened.equals(tar)).toBe(true);
    await expect(decrypt(sealed, randomBytes(32).toString("hex"))).rejects.toThrow(/AES key is wrong/);
    await writeFile(path.join(dir, "opened.tar"), opened);
    expect((await sh("tar -xf opened.tar database.gz && sha256sum database.gz", dir)).stdout).toContain(sha256(made.prdNew!.database));

    const rows = await auditRows(made.prdNew!.id);
    expect(rows.some((r) => (r.detail as { encrypted?: boolean }).encrypted === true)).toBe(true);
  });

  it("picks a backup by backup_id, or the newest of one environment", async () => {
    const byId = await post({ key: BACKUP_KEY, backup_id: made.prdOld!.id });
    expect(byId.status).toBe(200);
    expect(byId.headers.get("x-backup-id")).toBe(made.prdOld!.id);
    expect(byId.headers.get("content-disposition")).toBe(`attachment; filename="${made.prdOld!.id}.tar"`);
    expect(Buffer.from(await byId.arrayBuffer()).includes(made.prdOld!.database)).toBe(true);

    const uat = await post({ key: BACKUP_KEY, project: "acme", environment: "uat" });
    expect(uat.headers.get("x-backup-id")).toBe(made.uat!.id);
    await uat.arrayBuffer();
    // A non-production administrator's newest is uat's: prd is not theirs.
    const nonprod = await post({ key: BACKUP_KEY }, "nonprod");
    expect(nonprod.headers.get("x-backup-id")).toBe(made.uat!.id);
    await nonprod.arrayBuffer();
  });

  it("is disabled without BACKUP_KEY (404), and refuses a wrong key (403), no session (401) and bad bodies (400)", async () => {
    key = undefined;
    try {
      expect(await errorOf(await post({ key: BACKUP_KEY }))).toBe(
        "404 not_found: The backup API is disabled on this Lifeboat server: it is enabled by setting BACKUP_KEY (at least 20 characters).",
      );
    } finally {
      key = BACKUP_KEY;
    }
    expect(await errorOf(await post({ key: `${BACKUP_KEY}x` }))).toBe("403 forbidden: The backup key is wrong.");
    expect(await errorOf(await post({ key: "" }))).toBe("403 forbidden: The backup key is wrong.");
    expect((await post({ key: BACKUP_KEY }, null)).status).toBe(401);
    expect(await errorOf(await post({ key: BACKUP_KEY, aes_key: "my passphrase" }))).toMatch(
      /^400 bad_request: aes_key: The AES key must be 64 hexadecimal characters/,
    );
    expect(await errorOf(await post("key=abc"))).toMatch(/^400 bad_request: The request body must be JSON/);
    expect((await post({ key: BACKUP_KEY, format: "zip" })).status).toBe(400);
    // The key is compared before anything about backups is looked at.
    expect(await errorOf(await post({ key: "wrong-wrong-wrong-wrong", backup_id: "acme-nope-202601010000" }))).toBe("403 forbidden: The backup key is wrong.");
  });

  it("refuses members even with the key (403), unknown backups (404) and unfinished ones (409)", async () => {
    expect(await errorOf(await post({ key: BACKUP_KEY, backup_id: made.uat!.id }, "member"))).toBe(
      "403 forbidden: Only administrators of acme-uat may download its backups with the backup key.",
    );
    expect(await errorOf(await post({ key: BACKUP_KEY }, "member"))).toBe("404 not_found: There is no completed backup in an environment you administer.");
    expect(await errorOf(await post({ key: BACKUP_KEY, backup_id: "acme-nosuchbackupatall-202601010000" }))).toBe(
      "404 not_found: There is no backup acme-nosuchbackupatall-202601010000 you have access to.",
    );
    expect(await errorOf(await post({ key: BACKUP_KEY, backup_id: "acme-nope-202601010000" }))).toMatch(
      /^400 bad_request: "acme-nope-202601010000" is not a backup ID/,
    );
    expect(await errorOf(await post({ key: BACKUP_KEY, backup_id: made.running!.id }))).toBe(
      `409 conflict: Backup ${made.running!.id} is running; only completed backups can be downloaded.`,
    );
  });

  it("cuts the transfer before the end of the archive when a stored file no longer matches its checksum", async () => {
    const damaged = await storeBackup("uat", new Date("2026-01-20T03:00:00Z"));
    const storageKey = `backups/${damaged.id}/volume.tgz`;
    const altered = Buffer.from(damaged.volume);
    altered[altered.length - 1]! ^= 0xff;
    await storage.putObject(storageKey, Readable.from([altered]));
    const response = await post({ key: BACKUP_KEY, backup_id: damaged.id });
    expect(response.status).toBe(200);
    await expect(response.arrayBuffer()).rejects.toThrow();
    const [row] = await auditRows(damaged.id);
    expect(row?.detail).toMatchObject({ complete: false });
  });

  it("compares keys by their hashes", () => {
    expect(backupKeyMatches(BACKUP_KEY, BACKUP_KEY)).toBe(true);
    expect(backupKeyMatches(BACKUP_KEY.slice(0, -1), BACKUP_KEY)).toBe(false);
    expect(backupKeyMatches("", BACKUP_KEY)).toBe(false);
  });
});
