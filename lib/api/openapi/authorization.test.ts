import { createHash, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import path from "node:path";

import { eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

import { actorOf, createTestSession, sameOriginHeaders } from "@/lib/auth/testing";
import type { SessionUser } from "@/lib/auth/testing";
import { documentLibraryTgz, gz, pgDump } from "@/lib/backups/verify/testing";
import { backups, environmentLocks, environments, jobs, restores } from "@/lib/db/schema";
import type { Environment } from "@/lib/db/schema";
import { DEMO_GROUPS } from "@/lib/db/seed";
import { seedBackup } from "@/lib/downloads/testing/seed";
import { createApiToken } from "@/lib/tokens/tokens";
import type { Harness } from "@/lib/uploads/testing";
import { startHarness } from "@/lib/uploads/testing";

import { createOpenApiDocument } from "./document";

/*
 * The authorization matrix: every operation of the OpenAPI document, called
 * as each kind of caller, on a production and a non-production environment,
 * answers with the status its row below says. The roles and what they reach
 * are docs/security.md's; an operation added to the API without a row here
 * fails the last test, so none can skip it.
 *
 * Each call is a real one — a Next route handler with the request's cookie
 * or token, a byte path over HTTP — on its own fresh fixture where the
 * previous caller's success would change the answer (a deleted backup, a
 * held lock), and every status must be one the operation documents.
 */

const BACKUP_KEY = "authorization-matrix-backup-key-0123456789";
vi.hoisted(() => {
  process.env.BACKUP_KEY = "authorization-matrix-backup-key-0123456789";
  // Read once by the configuration: the folder the two environments' volume folders are made in.
  process.env.VOLUME_ROOTS = `${process.env.TMPDIR ?? "/tmp"}/lifeboat-authz-${process.pid}`;
  // Metrics on: then only this token reaches them, and no caller of the matrix has it.
  process.env.METRICS_TOKEN = "authorization-matrix-metrics-token-0123456789";
});
const VOLUME_ROOT = process.env.VOLUME_ROOTS!;

const CALLERS = ["anonymous", "member", "nonprodAdmin", "prodAdmin", "operator", "scopedToken"] as const;
type Caller = (typeof CALLERS)[number];
const TARGETS = ["prd", "uat"] as const;
type Target = (typeof TARGETS)[number];

/** The demo sign-in's people, as docs/security.md names their roles; the token is Ada's, limited to uat. */
const PEOPLE: Record<Exclude<Caller, "anonymous" | "scopedToken">, SessionUser> = {
  member: { sub: "max", email: "member@acme.test", name: "Max Member", groups: [DEMO_GROUPS.members] },
  nonprodAdmin: { sub: "uma", email: "nonprod-admin@acme.test", name: "Uma Nonprod", groups: [DEMO_GROUPS.nonprodAdmins] },
  prodAdmin: { sub: "ada", email: "admin@acme.test", name: "Ada Admin", groups: [DEMO_GROUPS.admins] },
  operator: { sub: "olga", email: "operator@acme.test", name: "Olga Operator", groups: ["lifeboat-operators"] },
};

const document = createOpenApiDocument({ serverUrl: "http://127.0.0.1" });
const METHODS = ["get", "put", "post", "delete", "head", "patch"] as const;
const OPERATIONS = Object.entries(document.paths ?? {}).flatMap(([template, item]) =>
  METHODS.filter((m) => (item as Record<string, unknown>)[m]).map((method) => ({
    key: `${method.toUpperCase()} ${template}`,
    responses: Object.keys(((item as Record<string, { responses: Record<string, unknown> }>)[method] as { responses: Record<string, unknown> }).responses),
  })),
);

let h: Harness;
let credentials: Record<Caller, Record<string, string>>;
let env: Record<Target, Environment>;

// ------------------------------------------------------------------ callers

type RouteModule = Record<string, ((request: Request, context: unknown) => Promise<Response>) | undefined>;

async function callNext(method: string, template: string, who: Caller, params: Record<string, string>, body?: unknown): Promise<number> {
  const file = path.resolve("app", `.${template.replace(/\{(\w+)\}/g, "[$1]")}`, "route.ts");
  if (!existsSync(file)) throw new Error(`no route file for ${template}`);
  const handler = ((await import(/* @vite-ignore */ file)) as RouteModule)[method];
  if (!handler) throw new Error(`no ${method} handler for ${template}`);
  const url = `http://127.0.0.1${template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params[name] ?? ""))}`;
  const headers = { ...credentials[who], ...(body === undefined ? {} : { "content-type": "application/json" }) };
  const init: RequestInit = { method, headers, body: body === undefined ? undefined : JSON.stringify(body) };
  const response = await handler(new Request(url, init), { params: Promise.resolve(params) });
  await response.arrayBuffer();
  return response.status;
}

function callHttp(
  method: string,
  urlPath: string,
  who: Caller,
  { headers = {}, body }: { headers?: Record<string, string>; body?: Buffer } = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${h.baseUrl}${urlPath}`,
      { method, agent: false, headers: { ...credentials[who], ...headers, ...(body ? { "content-length": String(body.length) } : {}) } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

// ----------------------------------------------------------------- fixtures

let fixtureCount = 0;
async function freshBackup(target: Target, status: "completed" | "running" = "completed"): Promise<string> {
  fixtureCount++;
  const id = `acme-authz${String.fromCharCode(97 + (fixtureCount % 26))}${"x".repeat(8)}${String.fromCharCode(97 + Math.floor(fixtureCount / 26))}-202401010000`;
  await seedBackup(h.handle.db, h.storage, {
    id,
    environmentId: env[target].id,
    status,
    files: status === "completed" ? { database: gz(pgDump()), volume: await documentLibraryTgz() } : {},
  });
  return id;
}

/** What a caller's success leaves behind that would change the next caller's answer: the lock, queued work. */
async function settle(target: Target): Promise<void> {
  const environmentId = env[target].id;
  await h.handle.db.delete(environmentLocks).where(eq(environmentLocks.environmentId, environmentId));
  await h.handle.db.delete(restores).where(eq(restores.environmentId, environmentId));
  await h.handle.db.delete(jobs).where(inArray(jobs.queue, ["backup.create", "backup.import", "backup.restore"]));
  await h.handle.db.delete(backups).where(inArray(backups.status, ["queued", "running"]));
}

/** An upload the production administrator started in the environment, its parts not sent. */
async function openUploadSession(target: Target): Promise<{ sessionId: string; uploadId: string }> {
  fixtureCount++;
  return uploadsCall("prodAdmin", target, `fixture-${fixtureCount}`);
}

async function uploadsCall(who: Caller, target: Target, name: string): Promise<{ sessionId: string; uploadId: string }> {
  const file = path.resolve("app/api/v1/projects/[projectId]/environments/[environment]/uploads/route.ts");
  const { POST } = (await import(/* @vite-ignore */ file)) as RouteModule;
  const response = await POST!(
    new Request(`http://127.0.0.1/api/v1/projects/acme/environments/${target}/uploads`, {
      method: "POST",
      headers: { ...credentials[who], "content-type": "application/json" },
      body: JSON.stringify({ database: { fileName: `${name}.gz`, size: 100 }, volume: { fileName: `${name}.tgz`, size: 100 } }),
    }),
    { params: Promise.resolve({ projectId: "acme", environment: target }) },
  );
  const { session } = (await response.json()) as { session: { id: string; uploads: { id: string }[] } };
  return { sessionId: session.id, uploadId: session.uploads[0]!.id };
}

// ------------------------------------------------------------------ the matrix

/** Six statuses, one per caller in CALLERS' order: anonymous, member, non-production admin, production admin, operator, uat-limited token. */
type Row = `${number} ${number} ${number} ${number} ${number} ${number}`;

interface Variant {
  /** The OpenAPI operation, `METHOD /path`. */
  operation: string;
  /** What this call does, when an operation has several. */
  what?: string;
  call(who: Caller, target: Target): Promise<number>;
  expected: Record<Target, Row>;
}

const E = "/api/v1/projects/{projectId}/environments/{environment}";
const at = (target: Target) => ({ projectId: "acme", environment: target });

const VARIANTS: Variant[] = [];
const row = (variant: Variant) => VARIANTS.push(variant);

row({
  operation: "GET /api/v1/environments",
  call: (who) => callNext("GET", "/api/v1/environments", who, {}),
  expected: { prd: "401 200 200 200 200 200", uat: "401 200 200 200 200 200" },
});
row({
  operation: `GET ${E}`,
  call: (who, t) => callNext("GET", E, who, at(t)),
  expected: { prd: "401 403 403 200 200 404", uat: "401 403 200 200 200 200" },
});
row({
  operation: `PUT ${E}`,
  what: "the policy (retention)",
  // A value of each caller's own: sending what is stored already is no change, and allowed.
  call: (who, t) => callNext("PUT", E, who, at(t), { retentionKeepCount: 5 + CALLERS.indexOf(who) }),
  expected: { prd: "401 403 403 200 403 404", uat: "401 403 200 200 403 200" },
});
row({
  operation: `PUT ${E}`,
  what: "a source (the database password)",
  call: (who, t) => callNext("PUT", E, who, at(t), { dbPassword: `secret of ${who}` }),
  expected: { prd: "401 403 403 403 200 404", uat: "401 403 403 403 200 403" },
});
row({
  operation: `GET ${E}/backups`,
  call: (who, t) => callNext("GET", `${E}/backups`, who, at(t)),
  expected: { prd: "401 200 200 200 200 404", uat: "401 200 200 200 200 200" },
});
row({
  operation: `POST ${E}/backups`,
  call: async (who, t) => {
    const status = await callNext("POST", `${E}/backups`, who, at(t), {});
    await settle(t);
    return status;
  },
  expected: { prd: "401 403 403 202 403 404", uat: "401 403 202 202 403 202" },
});
row({
  operation: `POST ${E}/backups/import`,
  call: async (who, t) => {
    const status = await callNext("POST", `${E}/backups/import`, who, at(t), {
      remote_url: "https://backups.example.com/database.gz",
      volume_url: "https://backups.example.com/volume.tgz",
    });
    await settle(t);
    return status;
  },
  expected: { prd: "401 403 403 202 403 404", uat: "401 403 202 202 403 202" },
});
row({
  operation: `GET ${E}/backup-task`,
  call: (who, t) => callNext("GET", `${E}/backup-task`, who, at(t)),
  expected: { prd: "401 200 200 200 200 404", uat: "401 200 200 200 200 200" },
});
row({
  operation: `PUT ${E}/backup-task`,
  call: (who, t) => callNext("PUT", `${E}/backup-task`, who, at(t), { keep_count: 20 + CALLERS.indexOf(who) }),
  expected: { prd: "401 403 403 200 403 404", uat: "401 403 200 200 403 200" },
});
row({
  operation: `POST ${E}/retention/preview`,
  call: (who, t) => callNext("POST", `${E}/retention/preview`, who, at(t), { retentionKeepCount: 3, retentionKeepWeekly: 4 }),
  expected: { prd: "401 403 403 200 403 404", uat: "401 403 200 200 403 200" },
});
row({
  operation: `GET ${E}/backup-history`,
  call: (who, t) => callNext("GET", `${E}/backup-history`, who, at(t)),
  expected: { prd: "401 200 200 200 200 404", uat: "401 200 200 200 200 200" },
});
row({
  operation: `GET ${E}/restores`,
  call: (who, t) => callNext("GET", `${E}/restores`, who, at(t)),
  expected: { prd: "401 200 200 200 200 404", uat: "401 200 200 200 200 200" },
});
row({
  operation: `POST ${E}/uploads`,
  call: async (who, t) => {
    fixtureCount++;
    return callNext("POST", `${E}/uploads`, who, at(t), {
      database: { fileName: `mine-${fixtureCount}.gz`, size: 100 },
      volume: { fileName: `mine-${fixtureCount}.tgz`, size: 100 },
    });
  },
  expected: { prd: "401 403 403 201 403 404", uat: "401 403 201 201 403 201" },
});
row({
  operation: "GET /api/v1/uploads/{sessionId}",
  what: "an upload the production administrator started",
  call: async (who, t) => callNext("GET", "/api/v1/uploads/{sessionId}", who, { sessionId: (await openUploadSession(t)).sessionId }),
  expected: { prd: "401 403 403 200 403 404", uat: "401 403 200 200 403 200" },
});
row({
  operation: "DELETE /api/v1/uploads/{sessionId}",
  what: "an upload the production administrator started",
  call: async (who, t) => callNext("DELETE", "/api/v1/uploads/{sessionId}", who, { sessionId: (await openUploadSession(t)).sessionId }),
  expected: { prd: "401 403 403 204 403 404", uat: "401 403 204 204 403 204" },
});
row({
  operation: "POST /api/v1/uploads/{sessionId}/complete",
  what: "an upload the production administrator started, its parts not sent yet",
  call: async (who, t) =>
    callNext(
      "POST",
      "/api/v1/uploads/{sessionId}/complete",
      who,
      { sessionId: (await openUploadSession(t)).sessionId },
      { database: { sha256: "a".repeat(64) }, volume: { sha256: "b".repeat(64) } },
    ),
  expected: { prd: "401 403 403 409 403 404", uat: "401 403 409 409 403 409" },
});
row({
  operation: "PUT /api/v1/uploads/{uploadId}/parts/{partNumber}",
  what: "a part of an upload the production administrator started",
  call: async (who, t) => {
    const { uploadId } = await openUploadSession(t);
    const part = Buffer.alloc(100, 1);
    return callHttp("PUT", `/api/v1/uploads/${uploadId}/parts/1`, who, {
      headers: { "x-part-sha256": createHash("sha256").update(part).digest("hex"), "content-type": "application/octet-stream" },
      body: part,
    });
  },
  expected: { prd: "401 403 403 200 403 404", uat: "401 403 200 200 403 200" },
});
row({
  operation: "GET /api/v1/backups/{backupId}",
  call: async (who, t) => callNext("GET", "/api/v1/backups/{backupId}", who, { backupId: await freshBackup(t) }),
  expected: { prd: "401 200 200 200 200 404", uat: "401 200 200 200 200 200" },
});
row({
  operation: "DELETE /api/v1/backups/{backupId}",
  call: async (who, t) => {
    // Never the newest completed backup: retention's rule, and the delete's.
    await freshBackup(t);
    return callNext("DELETE", "/api/v1/backups/{backupId}", who, { backupId: await olderBackup(t) });
  },
  expected: { prd: "401 403 403 204 403 404", uat: "401 403 204 204 403 204" },
});
row({
  operation: "PUT /api/v1/backups/{backupId}/pin",
  call: async (who, t) => callNext("PUT", "/api/v1/backups/{backupId}/pin", who, { backupId: await freshBackup(t) }),
  expected: { prd: "401 403 403 200 403 404", uat: "401 403 200 200 403 200" },
});
row({
  operation: "DELETE /api/v1/backups/{backupId}/pin",
  what: "a pinned backup",
  call: async (who, t) => {
    const backupId = await freshBackup(t);
    await h.handle.db.update(backups).set({ pinned: true, pinnedBy: "admin@acme.test", pinnedAt: new Date() }).where(eq(backups.id, backupId));
    return callNext("DELETE", "/api/v1/backups/{backupId}/pin", who, { backupId });
  },
  expected: { prd: "401 403 403 200 403 404", uat: "401 403 200 200 403 200" },
});
row({
  operation: "GET /api/v1/backups/{backupId}/files",
  call: async (who, t) => callNext("GET", "/api/v1/backups/{backupId}/files", who, { backupId: await freshBackup(t) }),
  expected: { prd: "401 200 200 200 200 404", uat: "401 200 200 200 200 200" },
});
row({
  operation: "POST /api/v1/backups/{backupId}/files/{kind}/url",
  call: async (who, t) =>
    callNext("POST", "/api/v1/backups/{backupId}/files/{kind}/url", who, { backupId: await freshBackup(t), kind: "database" }, { expires_in: 600 }),
  expected: { prd: "401 403 403 200 403 404", uat: "401 200 200 200 403 200" },
});
row({
  operation: "POST /api/v1/backups/{backupId}/restore",
  what: "into the backup's own environment",
  call: async (who, t) => {
    const status = await callNext("POST", "/api/v1/backups/{backupId}/restore", who, { backupId: await freshBackup(t) }, { confirm: t });
    await settle(t);
    return status;
  },
  expected: { prd: "401 403 403 202 403 404", uat: "401 403 202 202 403 202" },
});
row({
  operation: "GET /api/v1/restores/{restoreId}",
  call: async (who, t) => callNext("GET", "/api/v1/restores/{restoreId}", who, { restoreId: await restoreRow(t) }),
  expected: { prd: "401 200 200 200 200 404", uat: "401 200 200 200 200 200" },
});
row({
  operation: "GET /api/v1/tokens",
  call: (who) => callNext("GET", "/api/v1/tokens", who, {}),
  expected: { prd: "401 200 200 200 200 403", uat: "401 200 200 200 200 403" },
});
row({
  operation: "POST /api/v1/tokens",
  call: (who, t) => callNext("POST", "/api/v1/tokens", who, {}, { name: `matrix ${t}`, expiresInDays: 1, scope: { project: "acme", environment: t } }),
  expected: { prd: "401 201 201 201 201 403", uat: "401 201 201 201 201 403" },
});
row({
  operation: "DELETE /api/v1/tokens/{tokenId}",
  what: "the production administrator's own token",
  call: async (who) => callNext("DELETE", "/api/v1/tokens/{tokenId}", who, { tokenId: await adaToken() }),
  expected: { prd: "401 404 404 204 404 403", uat: "401 404 404 204 404 403" },
});
row({
  operation: "GET /api/v1/openapi.json",
  call: (who) => callNext("GET", "/api/v1/openapi.json", who, {}),
  expected: { prd: "200 200 200 200 200 200", uat: "200 200 200 200 200 200" },
});
row({
  operation: "GET /api/health",
  call: (who) => callNext("GET", "/api/health", who, {}),
  expected: { prd: "200 200 200 200 200 200", uat: "200 200 200 200 200 200" },
});
row({
  operation: "POST /api/v1/utils/backup/",
  call: async (who, t) =>
    callHttp("POST", "/api/v1/utils/backup/", who, {
      headers: { "content-type": "application/json" },
      body: Buffer.from(JSON.stringify({ key: BACKUP_KEY, backup_id: await freshBackup(t) })),
    }),
  expected: { prd: "401 403 403 200 403 404", uat: "401 403 200 200 403 200" },
});
row({
  operation: "GET /metrics",
  what: "metrics are the installation's, for the metrics token only: no role, operator or API token reaches them",
  call: (who) => callHttp("GET", "/metrics", who),
  expected: { prd: "401 401 401 401 401 401", uat: "401 401 401 401 401 401" },
});
row({
  operation: "GET /backup/download/{kind}/{backupId}",
  call: async (who, t) => callHttp("GET", `/backup/download/database/${await freshBackup(t)}`, who),
  expected: { prd: "401 403 403 200 403 404", uat: "401 200 200 200 403 200" },
});
row({
  operation: "HEAD /backup/download/{kind}/{backupId}",
  call: async (who, t) => callHttp("HEAD", `/backup/download/volume/${await freshBackup(t)}`, who),
  expected: { prd: "401 403 403 200 403 404", uat: "401 200 200 200 403 200" },
});
row({
  operation: "POST /backup/upload",
  what: "to the environment's Liferay host name",
  call: async (who, t) => {
    const boundary = `----matrix${randomUUID()}`;
    const part = (name: string, file: string, bytes: Buffer) =>
      Buffer.concat([
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${file}"\r\nContent-Type: application/octet-stream\r\n\r\n`),
        bytes,
        Buffer.from("\r\n"),
      ]);
    const body = Buffer.concat([
      part("database", "database.gz", gz(pgDump())),
      part("volume", "volume.tgz", await documentLibraryTgz()),
      Buffer.from(`--${boundary}--\r\n`),
    ]);
    const status = await callHttp("POST", "/backup/upload", who, {
      headers: { host: `backup-acme-${t}.localhost`, "content-type": `multipart/form-data; boundary=${boundary}` },
      body,
    });
    await settle(t);
    return status;
  },
  expected: { prd: "401 403 403 201 403 404", uat: "401 403 201 201 403 201" },
});

/** A backup older than the one made just before, so it is not the newest completed one (which is never deleted). */
async function olderBackup(target: Target): Promise<string> {
  const id = await freshBackup(target);
  await h.handle.db
    .update(backups)
    .set({ createdAt: new Date(Date.UTC(2020, 0, 1)) })
    .where(eq(backups.id, id));
  return id;
}

async function restoreRow(target: Target): Promise<string> {
  const [row] = await h.handle.db
    .insert(restores)
    .values({ backupId: await freshBackup(target), environmentId: env[target].id, status: "completed", createdBy: "admin@acme.test" })
    .returning();
  return row!.id;
}

async function adaToken(): Promise<string> {
  const ada = await actorOf(h.handle.db, PEOPLE.prodAdmin);
  const { view } = await createApiToken(h.handle.db, {
    actor: ada,
    input: { name: "to revoke", expiresInDays: 1, environmentId: null },
    productionOnly: false,
  });
  return view.id;
}

// ----------------------------------------------------------------- the test

beforeAll(async () => {
  await mkdir(VOLUME_ROOT, { recursive: true });
  h = await startHarness({ driver: "local" });
  const rows = await h.handle.db.select().from(environments).where(eq(environments.projectId, "acme"));
  env = { prd: rows.find((e) => e.name === "prd")!, uat: rows.find((e) => e.name === "uat")! };
  // Both environments ready to back up: a database source on the local server and a volume folder inside the root.
  for (const target of TARGETS) {
    const volumePath = path.join(VOLUME_ROOT, `acme-${target}`, "document_library");
    await mkdir(volumePath, { recursive: true });
    const [updated] = await h.handle.db
      .update(environments)
      .set({ dbEngine: "postgresql", dbHost: "127.0.0.1", dbPort: 5432, dbName: "test", dbUser: "postgres", volumePath })
      .where(eq(environments.id, env[target].id))
      .returning();
    env[target] = updated!;
  }
  const session = async (person: SessionUser) => ({ cookie: (await createTestSession(h.handle.db, person)).cookie, ...sameOriginHeaders() });
  const ada = await actorOf(h.handle.db, PEOPLE.prodAdmin);
  const { token } = await createApiToken(h.handle.db, {
    actor: ada,
    input: { name: "uat only", expiresInDays: 1, environmentId: env.uat.id },
    productionOnly: false,
  });
  credentials = {
    anonymous: {},
    member: await session(PEOPLE.member),
    nonprodAdmin: await session(PEOPLE.nonprodAdmin),
    prodAdmin: await session(PEOPLE.prodAdmin),
    operator: await session(PEOPLE.operator),
    scopedToken: { authorization: `Bearer ${token}` },
  };
});

afterAll(async () => {
  await h?.close();
  await rm(VOLUME_ROOT, { recursive: true, force: true });
});

describe("the authorization matrix", () => {
  for (const variant of VARIANTS) {
    const name = `${variant.operation}${variant.what ? ` (${variant.what})` : ""}`;
    it(name, async () => {
      const documented = OPERATIONS.find((op) => op.key === variant.operation)?.responses;
      expect(documented, `${variant.operation} is not in the OpenAPI document`).toBeDefined();
      for (const target of TARGETS) {
        const statuses: number[] = [];
        for (const who of CALLERS) statuses.push(await variant.call(who, target));
        const observed = statuses.join(" ");
        expect(observed, `${name} on ${target}, as ${CALLERS.join(", ")}`).toBe(variant.expected[target]);
        for (const [i, status] of statuses.entries()) {
          if (status === 200 && variant.operation === "GET /api/health") continue;
          expect(documented, `${name} answered ${CALLERS[i]} with ${status}, which it does not document`).toContain(String(status));
        }
      }
    });
  }

  it("has a row for every operation of the OpenAPI document", () => {
    const covered = new Set(VARIANTS.map((v) => v.operation));
    expect(OPERATIONS.map((op) => op.key).filter((key) => !covered.has(key))).toEqual([]);
  });
});
