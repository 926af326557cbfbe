import { createHash, randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, request } from "node:http";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

import { createTestSession, sameOriginHeaders } from "@/lib/auth/testing";

import type { Actor } from "@/lib/auth/permissions";
import type { DbHandle } from "@/lib/db/client";
import { getEnvironment } from "@/lib/db/queries/projects";
import { resolveEnvironmentRoles } from "@/lib/db/queries/roles";
import type { Environment } from "@/lib/db/schema";
import { DEMO_GROUPS, seedDemoProject } from "@/lib/db/seed";
import { createTestDatabase } from "@/lib/db/testing";
import type { DatabaseKind } from "@/lib/db/testing";
import { createNodeRouter } from "@/lib/http/node-router";
import { NODE_ROUTES } from "@/node-routes";
import { createStorage } from "@/lib/storage";
import { startS3rver } from "@/lib/storage/testing/s3rver";
import type { Storage } from "@/lib/storage/types";
import { trackHandlers } from "@/lib/testing/handler-tracker";
import type { HandlerTracker } from "@/lib/testing/handler-tracker";

import type { UploadSessionView } from "./view";

/*
 * A real byte path for protocol tests: the Node router on 127.0.0.1:0 with
 * the process-wide database and storage the handlers look up, real session
 * cookies, and actors for calling the control-plane functions directly.
 */

export const TEST_SECRET = "upload-tests-secret-that-is-long-enough-0123456789";

const DB_KEY = Symbol.for("lifeboat.db");
const STORAGE_KEY = Symbol.for("lifeboat.storage");

export type StorageDriver = "local" | "s3";

export interface TestUser {
  email: string;
  cookie: string;
  /** The cookie and the Origin a browser sends with a change from Lifeboat's own pages. */
  browser: { cookie: string; origin: string };
  actor: Actor;
}

export interface Harness {
  handle: DbHandle;
  storage: Storage;
  driver: StorageDriver;
  /** The local driver's root folder (to look at multipart leftovers). */
  localRoot: string | null;
  baseUrl: string;
  users: { admin: TestUser; otherAdmin: TestUser; member: TestUser; stranger: TestUser };
  /** The byte-path handlers' calls, to wait until the server has begun or finished with a request. */
  handlers: HandlerTracker;
  environment(name: string): Promise<Environment>;
  /** Stops the byte path and starts a fresh router and server on the same database and storage: a server restart. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

async function listen(handlers: HandlerTracker): Promise<Server> {
  const serve = createNodeRouter(handlers.routes);
  const server = createServer((req, res) => {
    if (serve(req, res)) return;
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

async function stop(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}

async function makeUser(handle: DbHandle, email: string, groups: string[]): Promise<TestUser> {
  const sub = `sub-${email}`;
  const name = email.split("@")[0] ?? email;
  const session = await createTestSession(handle.db, { sub, email, name, groups }, TEST_SECRET);
  const roles = await resolveEnvironmentRoles(handle.db, { groups });
  return {
    email,
    cookie: session.cookie,
    browser: { cookie: session.cookie, ...sameOriginHeaders() },
    actor: { kind: "user", id: sub, email, name, groups, roles, operator: false, sessionId: session.sessionId },
  };
}

export async function startHarness({ driver, database = "pglite" }: { driver: StorageDriver; database?: DatabaseKind }): Promise<Harness> {
  const handle = await createTestDatabase(database);
  await seedDemoProject(handle.db);
  let storage: Storage;
  let localRoot: string | null = null;
  let closeStorage: () => Promise<void>;
  if (driver === "local") {
    const root = await mkdtemp(path.join(tmpdir(), "lifeboat-uploads-"));
    localRoot = root;
    storage = createStorage({ driver: "local", root });
    closeStorage = () => rm(root, { recursive: true, force: true });
  } else {
    const s3 = await startS3rver();
    storage = createStorage(s3.config);
    closeStorage = () => s3.close();
  }
  const g = globalThis as Record<symbol, unknown>;
  g[DB_KEY] = handle;
  g[STORAGE_KEY] = storage;
  process.env.NEXTAUTH_SECRET = TEST_SECRET;

  const handlers = trackHandlers(NODE_ROUTES);
  let server = await listen(handlers);
  const users = {
    admin: await makeUser(handle, "alice@acme.test", [DEMO_GROUPS.admins]),
    otherAdmin: await makeUser(handle, "bob@acme.test", [DEMO_GROUPS.admins]),
    member: await makeUser(handle, "mia@acme.test", [DEMO_GROUPS.members]),
    stranger: await makeUser(handle, "sam@elsewhere.test", ["other-company"]),
  };
  const harness: Harness = {
    handle,
    storage,
    driver,
    localRoot,
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    users,
    handlers,
    async environment(name) {
      const environment = await getEnvironment(handle.db, { projectId: "acme", name });
      if (!environment) throw new Error(`no environment ${name}`);
      return environment;
    },
    async restart() {
      await stop(server);
      server = await listen(handlers);
      harness.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    async close() {
      await stop(server);
      delete g[DB_KEY];
      delete g[STORAGE_KEY];
      await handle.close();
      await closeStorage();
    },
  };
  return harness;
}

export function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export interface PartReply {
  status: number;
  body: { partNumber?: number; size?: number; sha256?: string; error?: { code: string; message: string; details?: unknown } };
  headers: Record<string, string | string[] | undefined>;
}

/**
 * One raw PUT. `body` may be shorter than `contentLength` (or absent): the
 * request then waits for the answer without sending the rest, which shows
 * whether the server answered before reading the body.
 */
export function rawPut(
  url: string,
  { headers, body, contentLength }: { headers: Record<string, string>; body?: Buffer; contentLength?: number },
): Promise<PartReply> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: "PUT",
      agent: false,
      headers: { ...headers, "content-length": String(contentLength ?? body?.length ?? 0) },
    });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as PartReply["body"]) : {}, headers: res.headers });
        req.destroy();
      });
    });
    // The server may close while we still write (that is the point of some tests); the answer is what counts.
    req.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "EPIPE" && error.code !== "ECONNRESET") reject(error);
    });
    if (body) req.write(body);
    if (contentLength === undefined || contentLength === (body?.length ?? 0)) req.end();
  });
}

/**
 * Starts sending a part, then drops the connection after `sendBytes`, once the server is handling it: a laptop
 * closing its lid mid-part. `h.handlers.settled()` afterwards is the moment the server is done with it.
 */
export async function dropMidway(h: Harness, url: string, headers: Record<string, string>, body: Buffer, sendBytes: number): Promise<void> {
  const begun = h.handlers.started;
  const req = request(url, { method: "PUT", agent: false, headers: { ...headers, "content-length": String(body.length) } });
  req.on("error", () => undefined);
  await new Promise<void>((resolve) => req.write(body.subarray(0, sendBytes), () => resolve()));
  await h.handlers.whenStarted(begun + 1);
  req.destroy();
}

/** A PUT without Content-Length (chunked transfer encoding). */
export function chunkedPut(url: string, headers: Record<string, string>, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "PUT", agent: false, headers });
    req.on("response", (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "EPIPE" && error.code !== "ECONNRESET") reject(error);
    });
    req.end(body);
  });
}

export function partUrl(baseUrl: string, uploadId: string, partNumber: number | string): string {
  return `${baseUrl}/api/v1/uploads/${uploadId}/parts/${partNumber}`;
}

export function slicePart(file: Buffer, partSize: number, partNumber: number): Buffer {
  return file.subarray((partNumber - 1) * partSize, partNumber * partSize);
}

/** Sends one part the way a client does: exact length, SHA-256 header, the user's cookie. */
export async function putPart(
  harness: Harness,
  user: TestUser,
  upload: { id: string; partSize: number },
  file: Buffer,
  partNumber: number,
  { sha256: claimed, body }: { sha256?: string; body?: Buffer } = {},
): Promise<PartReply> {
  const bytes = body ?? slicePart(file, upload.partSize, partNumber);
  return rawPut(partUrl(harness.baseUrl, upload.id, partNumber), {
    headers: { ...user.browser, "x-part-sha256": claimed ?? sha256(bytes), "content-type": "application/octet-stream" },
    body: bytes,
  });
}

export function uploadOf(session: UploadSessionView, kind: "database" | "volume") {
  const upload = session.uploads.find((u) => u.kind === kind);
  if (!upload) throw new Error(`session has no ${kind} upload`);
  return upload;
}

export function describeFiles(files: { database: Buffer; volume: Buffer }, names = { database: "database.gz", volume: "volume.tgz" }) {
  return {
    database: { fileName: names.database, size: files.database.length, lastModified: 1_714_557_600_000 },
    volume: { fileName: names.volume, size: files.volume.length, lastModified: 1_714_557_600_000 },
  };
}

export function uniqueId(): string {
  return randomUUID();
}
