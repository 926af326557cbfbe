import { existsSync, readdirSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";

import { validate } from "@readme/openapi-parser";
import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

import { windowStart } from "@/lib/api/rate-limit";
import { documentLibraryTgz, gz, pgDump } from "@/lib/backups/verify/testing";
import { rateLimitWindows, environments } from "@/lib/db/schema";
import type { Environment } from "@/lib/db/schema";
import { seedBackup } from "@/lib/downloads/testing/seed";
import { NODE_ROUTES } from "@/node-routes";
import { createApiToken } from "@/lib/tokens/tokens";
import type { Harness, TestUser } from "@/lib/uploads/testing";
import { sha256, startHarness } from "@/lib/uploads/testing";
import { until } from "@/lib/testing/until";

import { createOpenApiDocument } from "./document";

/*
 * The OpenAPI document is the contract: it must be a valid OpenAPI 3.1
 * document, every operation in it must have a handler, and every handler
 * must answer as documented — for at least one success and one error per
 * operation, the real body is validated against the documented schema
 * (ajv), the status must be a documented one, and documented headers
 * (X-RateLimit-*, Location, Retry-After) must be there. Next route handlers
 * are called as Next calls them; the byte paths over real HTTP.
 */

vi.hoisted(() => {
  process.env.LOG_LEVEL ??= "silent";
  process.env.BACKUP_KEY = "contract-test-backup-key-0123456789";
  process.env.METRICS_TOKEN = "contract-test-metrics-token-0123456789";
});

/** Whether the last Next route call carried a session or a token (then its answer is rate-limit counted). */
let lastCallHadCredentials = false;

const ROOT = path.resolve(__dirname, "../../..");
const METHODS = ["get", "put", "post", "delete", "head", "patch"] as const;
type Method = (typeof METHODS)[number];

const document = createOpenApiDocument({ serverUrl: "http://127.0.0.1" });
type AnyRecord = Record<string, unknown>;

interface Reply {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

interface Operation {
  key: string;
  method: Method;
  template: string;
  spec: AnyRecord;
}

const operations: Operation[] = Object.entries(document.paths ?? {}).flatMap(([template, item]) =>
  METHODS.filter((m) => (item as AnyRecord)[m]).map((method) => ({
    key: `${method.toUpperCase()} ${template}`,
    method,
    template,
    spec: (item as AnyRecord)[method] as AnyRecord,
  })),
);

// ----------------------------------------------------------------- handlers

function fill(template: string, params: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params[name] ?? `sample-${name}`));
}

function nodeRouteFor(op: Pick<Operation, "method" | "template">) {
  const samplePath = fill(op.template, { kind: "database", backupId: "acme-abcdefghijkl-202401010000", uploadId: randomUUID(), partNumber: "1" });
  return NODE_ROUTES.find((r) => r.pattern.test(samplePath) && r.methods.includes(op.method.toUpperCase()));
}

function routeFile(template: string): string {
  return path.join(ROOT, "app", template.replace(/\{(\w+)\}/g, "[$1]"), "route.ts");
}

type RouteModule = Record<string, ((request: Request, context: unknown) => Promise<Response>) | undefined>;

async function nextHandler(op: Pick<Operation, "method" | "template">) {
  const file = routeFile(op.template);
  if (!existsSync(file)) return undefined;
  const mod = (await import(/* @vite-ignore */ file)) as RouteModule;
  return mod[op.method.toUpperCase()];
}

/** Whether anything serves the operation: a byte-path route, or a Next route file exporting the method. */
async function hasHandler(op: Operation): Promise<boolean> {
  if (nodeRouteFor(op)) return true;
  return (await nextHandler(op)) !== undefined;
}

// ------------------------------------------------------------------ callers

interface CallOptions {
  as?: TestUser | null;
  token?: string;
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
}

async function toReply(response: Response): Promise<Reply> {
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, body, text };
}

/** A Next route handler, as Next calls it, with the session or token of `as`/`token`. */
async function callNext(method: Method, template: string, options: CallOptions = {}): Promise<Reply> {
  const handler = await nextHandler({ method, template });
  if (!handler) throw new Error(`no handler for ${method.toUpperCase()} ${template}`);
  const url = new URL(fill(template, options.params ?? {}), "http://127.0.0.1");
  for (const [name, value] of Object.entries(options.query ?? {})) url.searchParams.set(name, value);
  const user = options.as;
  lastCallHadCredentials = Boolean(user || options.token);
  const credentials: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : user ? user.browser : {};
  const init: RequestInit = { method: method.toUpperCase(), headers: { "content-type": "application/json", ...credentials } };
  if (options.body !== undefined) init.body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
  const params = Object.fromEntries(Object.entries(options.params ?? {}));
  return toReply(await handler(new Request(url, init), { params: Promise.resolve(params) }));
}

/** A byte path over real HTTP, without connection reuse. */
function callHttp(
  baseUrl: string,
  method: string,
  urlPath: string,
  { headers = {}, body }: { headers?: Record<string, string>; body?: Buffer } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${baseUrl}${urlPath}`,
      { method, agent: false, headers: { ...headers, ...(body ? { "content-length": String(body.length) } : {}) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () => {
          const raw = Buffer.concat(chunks);
          const headersOut = new Headers();
          for (const [name, value] of Object.entries(res.headers))
            if (value !== undefined) headersOut.set(name, Array.isArray(value) ? value.join(", ") : value);
          const isJson = (res.headers["content-type"] ?? "").includes("application/json");
          resolve({
            status: res.statusCode ?? 0,
            headers: headersOut,
            body: isJson && raw.length ? JSON.parse(raw.toString("utf8")) : undefined,
            text: isJson ? raw.toString("utf8") : "",
          });
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

// --------------------------------------------------------------- validation

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema({ ...(document as unknown as AnyRecord), $id: "https://lifeboat.test/openapi.json" });

function pointer(...segments: string[]): string {
  return segments.map((s) => s.replace(/~/g, "~0").replace(/\//g, "~1")).join("/");
}

/** Problems with one reply against the documented responses of its operation; empty when it answers as documented. */
function problemsWith(op: Operation, reply: Reply): string[] {
  const responses = op.spec.responses as Record<string, AnyRecord>;
  const documented = responses[String(reply.status)];
  if (!documented) return [`answered ${reply.status}, which is not documented (documented: ${Object.keys(responses).join(", ")}): ${reply.text.slice(0, 300)}`];
  const problems: string[] = [];
  const headers = (documented.headers ?? {}) as Record<string, { required?: boolean }>;
  for (const [name, header] of Object.entries(headers)) {
    if (header.required && !reply.headers.has(name)) problems.push(`${reply.status}: the documented header ${name} is missing`);
  }
  const content = documented.content as Record<string, unknown> | undefined;
  // A HEAD answer has the headers of its GET and never a body to check.
  if (op.method === "head") return problems;
  if (content?.["application/json"]) {
    const validator = ajv.getSchema(
      `https://lifeboat.test/openapi.json#/${pointer("paths", op.template, op.method, "responses", String(reply.status), "content", "application/json", "schema")}`,
    );
    if (!validator) return [`no schema compiled for ${op.key} ${reply.status}`];
    if (!validator(reply.body))
      problems.push(`${reply.status}: the body does not match the documented schema: ${ajv.errorsText(validator.errors)}; body: ${reply.text.slice(0, 400)}`);
  } else if (!content && reply.text.length > 0) {
    problems.push(`${reply.status}: documented without a body, but one came: ${reply.text.slice(0, 200)}`);
  }
  return problems;
}

// -------------------------------------------------------------------- setup

let h: Harness;
let volumeRoot: string;
let admin: TestUser;
let member: TestUser;
let adminToken: string;
const ids = {
  prd: "acme-contractprdbackup-202401010000",
  del: "acme-contractdelbackup-202401010000",
  rst: "acme-contractrstbackup-202401010000",
  running: "acme-contractrunningbkp-202401010000",
};

async function addEnvironment(name: string, configured: boolean): Promise<Environment> {
  // A configured environment is ready to back up: Create backup checks the folder exists before it queues anything.
  if (configured) await mkdir(path.join(volumeRoot, name), { recursive: true });
  const [row] = await h.handle.db
    .insert(environments)
    .values({
      projectId: "acme",
      name,
      displayName: name.toUpperCase(),
      isProduction: false,
      ...(configured
        ? {
            dbEngine: "postgresql" as const,
            dbHost: "127.0.0.1",
            dbPort: 5432,
            dbName: `contract_${name}_unused`,
            dbUser: "postgres",
            volumePath: path.join(volumeRoot, name),
          }
        : {}),
    })
    .returning();
  return row!;
}

const files: { database: Buffer; volume: Buffer } = { database: gz(pgDump({ filler: 4096 })), volume: Buffer.alloc(0) };

/** Every documented operation's calls: at least one success and one error each. */
type Case = () => Promise<Reply>;
const CASES: Record<string, Case[]> = {};
function cases(key: string, ...calls: Case[]) {
  CASES[key] = calls;
}

const env = "/api/v1/projects/{projectId}/environments/{environment}";
const at = (environment: string, extra: Record<string, string> = {}) => ({ projectId: "acme", environment, ...extra });

cases(
  "GET /api/v1/environments",
  () => callNext("get", "/api/v1/environments", { as: admin }),
  () => callNext("get", "/api/v1/environments", { as: null }),
);
cases(
  `GET ${env}`,
  () => callNext("get", env, { as: admin, params: at("prd") }),
  () => callNext("get", env, { as: member, params: at("prd") }),
);
cases(
  `PUT ${env}`,
  () =>
    callNext("put", env, {
      as: admin,
      params: at("qa"),
      body: {
        dbEngine: null,
        dbHost: null,
        dbPort: null,
        dbName: null,
        dbUser: null,
        volumePath: null,
        scheduleCron: "15 2 * * *",
        retentionKeepCount: 5,
        retentionDays: null,
        excludedTables: [],
        databasesToIgnore: [],
      },
    }),
  () => callNext("put", env, { as: admin, params: at("qa"), body: { scheduleCron: "whenever" } }),
);
cases(
  `GET ${env}/backups`,
  () => callNext("get", `${env}/backups`, { as: admin, params: at("prd"), query: { page: "1", per_page: "10" } }),
  () => callNext("get", `${env}/backups`, { as: member, params: at("prd"), query: { db_type: "mysql", status: "completed", origin: "manual" } }),
  () => callNext("get", `${env}/backups`, { as: admin, params: at("prd"), query: { db_type: "redis" } }),
  () => callNext("get", `${env}/backups`, { as: admin, params: at("nowhere") }),
);
cases(
  `POST ${env}/backups`,
  () => callNext("post", `${env}/backups`, { as: admin, params: at("bk"), body: { name: "contract", description: "made by the contract test" } }),
  () => callNext("post", `${env}/backups`, { as: member, params: at("uat") }),
);
cases(
  `POST ${env}/backups/import`,
  () =>
    callNext("post", `${env}/backups/import`, {
      as: admin,
      params: at("imp"),
      body: { remote_url: "https://backups.example.com/database.gz", volume_url: "https://backups.example.com/volume.tgz", name: "imported" },
    }),
  () => callNext("post", `${env}/backups/import`, { as: admin, params: at("imp"), body: { remote_url: "not a url" } }),
);
cases(
  `GET ${env}/backup-task`,
  () => callNext("get", `${env}/backup-task`, { as: member, params: at("prd") }),
  () => callNext("get", `${env}/backup-task`, { as: admin, params: at("nowhere") }),
);
cases(
  `PUT ${env}/backup-task`,
  () =>
    callNext("put", `${env}/backup-task`, {
      as: admin,
      params: at("qa"),
      body: { frequency: "0 */6 * * *", keep_count: 7, gzip: true, excluded_tables: "audit_log" },
    }),
  () => callNext("put", `${env}/backup-task`, { as: admin, params: at("qa"), body: { gzip: false } }),
  () => callNext("put", `${env}/backup-task`, { as: member, params: at("uat"), body: { keep_count: 3 } }),
);
cases(
  `GET ${env}/restores`,
  () => callNext("get", `${env}/restores`, { as: admin, params: at("rst") }),
  () => callNext("get", `${env}/restores`, { as: admin, params: at("rst"), query: { limit: "0" } }),
);

let openSession = "";
let completedSession = "";
cases(
  `POST ${env}/uploads`,
  async () => {
    const reply = await callNext("post", `${env}/uploads`, {
      as: admin,
      params: at("upl"),
      body: { database: { fileName: "database.gz", size: files.database.length }, volume: { fileName: "volume.tgz", size: files.volume.length } },
    });
    completedSession = (reply.body as { session?: { id: string } }).session?.id ?? "";
    return reply;
  },
  () => callNext("post", `${env}/uploads`, { as: admin, params: at("upl"), body: { database: { fileName: "database.sql", size: 10 } } }),
);
cases(
  "GET /api/v1/uploads/{sessionId}",
  async () => {
    const created = await callNext("post", `${env}/uploads`, {
      as: admin,
      params: at("upl2"),
      body: { database: { fileName: "database.gz", size: 1000 }, volume: { fileName: "volume.tgz", size: 1000 } },
    });
    openSession = (created.body as { session: { id: string } }).session.id;
    return callNext("get", "/api/v1/uploads/{sessionId}", { as: admin, params: { sessionId: openSession } });
  },
  () => callNext("get", "/api/v1/uploads/{sessionId}", { as: admin, params: { sessionId: randomUUID() } }),
);
cases(
  "DELETE /api/v1/uploads/{sessionId}",
  () => callNext("delete", "/api/v1/uploads/{sessionId}", { as: admin, params: { sessionId: openSession } }),
  () => callNext("delete", "/api/v1/uploads/{sessionId}", { as: admin, params: { sessionId: randomUUID() } }),
);

/** Parts and completion of the session POST …/uploads made: the upload's whole life. */
let partCase: { upload: { id: string; partSize: number; partCount: number }; bytes: Buffer } | undefined;
async function sessionUploads() {
  const reply = await callNext("get", "/api/v1/uploads/{sessionId}", { as: admin, params: { sessionId: completedSession } });
  return (reply.body as { session: { uploads: { id: string; kind: "database" | "volume"; partSize: number; partCount: number }[] } }).session.uploads;
}
cases(
  "PUT /api/v1/uploads/{uploadId}/parts/{partNumber}",
  async () => {
    let last: Reply | undefined;
    for (const upload of await sessionUploads()) {
      const bytes = files[upload.kind];
      for (let n = 1; n <= upload.partCount; n++) {
        const part = bytes.subarray((n - 1) * upload.partSize, n * upload.partSize);
        last = await callHttp(h.baseUrl, "PUT", `/api/v1/uploads/${upload.id}/parts/${n}`, {
          headers: { ...admin.browser, "x-part-sha256": sha256(part), "content-type": "application/octet-stream" },
          body: part,
        });
        if (last.status !== 200) return last;
      }
      partCase = { upload, bytes };
    }
    return last!;
  },
  async () => callHttp(h.baseUrl, "PUT", `/api/v1/uploads/${partCase?.upload.id ?? randomUUID()}/parts/1`, { body: Buffer.from("no credentials") }),
);
cases(
  "POST /api/v1/uploads/{sessionId}/complete",
  async () => {
    const reply = await callNext("post", "/api/v1/uploads/{sessionId}/complete", {
      as: admin,
      params: { sessionId: completedSession },
      body: { database: { sha256: sha256(files.database) }, volume: { sha256: sha256(files.volume) } },
    });
    // The backup is generated in the background; let it finish before the database goes away.
    await until(
      async () => {
        const polled = await callNext("get", "/api/v1/uploads/{sessionId}", { as: admin, params: { sessionId: completedSession } });
        return !["completing", "open"].includes((polled.body as { session: { status: string } }).session.status);
      },
      10_000,
      50,
      "the completed upload's backup",
    );
    return reply;
  },
  () => callNext("post", "/api/v1/uploads/{sessionId}/complete", { as: admin, params: { sessionId: completedSession }, body: { database: {} } }),
);
cases(
  "GET /api/v1/backups/{backupId}",
  () => callNext("get", "/api/v1/backups/{backupId}", { as: admin, params: { backupId: ids.prd } }),
  () => callNext("get", "/api/v1/backups/{backupId}", { as: admin, params: { backupId: "not-a-backup" } }),
  () => callNext("get", "/api/v1/backups/{backupId}", { as: admin, params: { backupId: "acme-nosuchbackupatall-202401010000" } }),
);
cases(
  "DELETE /api/v1/backups/{backupId}",
  () => callNext("delete", "/api/v1/backups/{backupId}", { as: admin, params: { backupId: ids.del } }),
  () => callNext("delete", "/api/v1/backups/{backupId}", { as: admin, params: { backupId: ids.del } }),
);
cases(
  "GET /api/v1/backups/{backupId}/files",
  () => callNext("get", "/api/v1/backups/{backupId}/files", { as: member, params: { backupId: ids.prd } }),
  () => callNext("get", "/api/v1/backups/{backupId}/files", { as: admin, params: { backupId: "acme-nosuchbackupatall-202401010000" } }),
);
cases(
  "POST /api/v1/backups/{backupId}/files/{kind}/url",
  () =>
    callNext("post", "/api/v1/backups/{backupId}/files/{kind}/url", { as: admin, params: { backupId: ids.prd, kind: "database" }, body: { expires_in: 600 } }),
  () => callNext("post", "/api/v1/backups/{backupId}/files/{kind}/url", { as: member, params: { backupId: ids.prd, kind: "database" } }),
  () => callNext("post", "/api/v1/backups/{backupId}/files/{kind}/url", { as: admin, params: { backupId: ids.running, kind: "database" } }),
);
cases(
  "PUT /api/v1/backups/{backupId}/pin",
  () => callNext("put", "/api/v1/backups/{backupId}/pin", { as: admin, params: { backupId: ids.prd } }),
  () => callNext("put", "/api/v1/backups/{backupId}/pin", { as: admin, params: { backupId: ids.running } }),
  () => callNext("put", "/api/v1/backups/{backupId}/pin", { as: member, params: { backupId: ids.prd } }),
);
cases(
  "DELETE /api/v1/backups/{backupId}/pin",
  () => callNext("delete", "/api/v1/backups/{backupId}/pin", { as: admin, params: { backupId: ids.prd } }),
  () => callNext("delete", "/api/v1/backups/{backupId}/pin", { as: admin, params: { backupId: "not-a-backup" } }),
);
cases(
  `POST ${env}/retention/preview`,
  () => callNext("post", `${env}/retention/preview`, { as: admin, params: at("prd"), body: { retentionKeepLast: 1, retentionKeepDaily: 7 } }),
  () => callNext("post", `${env}/retention/preview`, { as: admin, params: at("prd"), body: { retentionKeepCount: 0 } }),
  () => callNext("post", `${env}/retention/preview`, { as: member, params: at("prd"), body: {} }),
);
cases(
  `GET ${env}/backup-history`,
  () => callNext("get", `${env}/backup-history`, { as: member, params: at("prd"), query: { days: "7" } }),
  () => callNext("get", `${env}/backup-history`, { as: admin, params: at("prd"), query: { days: "0" } }),
);
let restoreId = "";
cases(
  "POST /api/v1/backups/{backupId}/restore",
  async () => {
    const reply = await callNext("post", "/api/v1/backups/{backupId}/restore", { as: admin, params: { backupId: ids.rst }, body: {} });
    restoreId = (reply.body as { response?: { id: string } }).response?.id ?? "";
    return reply;
  },
  () => callNext("post", "/api/v1/backups/{backupId}/restore", { as: member, params: { backupId: ids.rst }, body: {} }),
);
cases(
  "GET /api/v1/restores/{restoreId}",
  () => callNext("get", "/api/v1/restores/{restoreId}", { as: admin, params: { restoreId } }),
  () => callNext("get", "/api/v1/restores/{restoreId}", { as: admin, params: { restoreId: randomUUID() } }),
);
let tokenId = "";
cases(
  "GET /api/v1/tokens",
  () => callNext("get", "/api/v1/tokens", { as: admin }),
  () => callNext("get", "/api/v1/tokens", { token: adminToken }),
);
cases(
  "POST /api/v1/tokens",
  async () => {
    const reply = await callNext("post", "/api/v1/tokens", { as: admin, body: { name: "contract", expiresInDays: 1 } });
    tokenId = (reply.body as { response?: { id: string } }).response?.id ?? "";
    return reply;
  },
  () => callNext("post", "/api/v1/tokens", { as: admin, body: { name: "", expiresInDays: 1 } }),
);
cases(
  "DELETE /api/v1/tokens/{tokenId}",
  () => callNext("delete", "/api/v1/tokens/{tokenId}", { as: admin, params: { tokenId } }),
  () => callNext("delete", "/api/v1/tokens/{tokenId}", { token: adminToken, params: { tokenId } }),
);
cases(
  "GET /api/v1/openapi.json",
  () => callNext("get", "/api/v1/openapi.json", { as: null }),
  async () => {
    // A caller whose minute is used up: counted rows for this window and the next, so a minute boundary cannot matter.
    const now = Date.now();
    await h.handle.db
      .insert(rateLimitWindows)
      .values([0, 60_000].map((ahead) => ({ key: `user:${member.actor.id}`, windowStart: windowStart(new Date(now + ahead)), count: 1_000_000 })))
      .onConflictDoUpdate({ target: [rateLimitWindows.key, rateLimitWindows.windowStart], set: { count: 1_000_000 } });
    const reply = await callNext("get", "/api/v1/openapi.json", { as: member });
    return reply;
  },
);
cases(
  "GET /api/health",
  () => callNext("get", "/api/health"),
  async () => {
    const key = Symbol.for("lifeboat.db");
    const g = globalThis as Record<symbol, unknown>;
    const real = g[key];
    g[key] = { kind: "postgres", db: { execute: () => Promise.reject(new Error("the database is down")) }, close: async () => {} };
    try {
      return await callNext("get", "/api/health");
    } finally {
      g[key] = real;
    }
  },
);
cases(
  "POST /api/v1/utils/backup/",
  () =>
    callHttp(h.baseUrl, "POST", "/api/v1/utils/backup/", {
      headers: { ...admin.browser, "content-type": "application/json" },
      body: Buffer.from(JSON.stringify({ key: process.env.BACKUP_KEY, backup_id: ids.prd })),
    }),
  () =>
    callHttp(h.baseUrl, "POST", "/api/v1/utils/backup/", {
      headers: { ...admin.browser, "content-type": "application/json" },
      body: Buffer.from(JSON.stringify({ key: "not-the-backup-key-at-all", backup_id: ids.prd })),
    }),
);
cases(
  "GET /metrics",
  () => callHttp(h.baseUrl, "GET", "/metrics", { headers: { authorization: `Bearer ${process.env.METRICS_TOKEN}` } }),
  () => callHttp(h.baseUrl, "GET", "/metrics", { headers: { authorization: `Bearer ${adminToken}` } }),
);
cases(
  "GET /backup/download/{kind}/{backupId}",
  () => callHttp(h.baseUrl, "GET", `/backup/download/database/${ids.prd}`, { headers: { cookie: admin.cookie } }),
  () => callHttp(h.baseUrl, "GET", `/backup/download/database/${ids.prd}`, { headers: { range: "bytes=0-9", cookie: admin.cookie } }),
  () => callHttp(h.baseUrl, "GET", `/backup/download/database/${ids.prd}`, { headers: { cookie: member.cookie } }),
  () => callHttp(h.baseUrl, "GET", `/backup/download/database/${ids.prd}?expires=1&signature=${"0".repeat(64)}`),
  () => callHttp(h.baseUrl, "GET", `/backup/download/database/${ids.prd}`),
);
cases(
  "HEAD /backup/download/{kind}/{backupId}",
  () => callHttp(h.baseUrl, "HEAD", `/backup/download/volume/${ids.prd}`, { headers: { cookie: admin.cookie } }),
  () => callHttp(h.baseUrl, "HEAD", `/backup/download/volume/${ids.running}`, { headers: { cookie: admin.cookie } }),
);
cases(
  "POST /backup/upload",
  async () => {
    const boundary = "contract-test-boundary";
    const field = (name: string, file: string, bytes: Buffer) =>
      Buffer.concat([
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${file}"\r\nContent-Type: application/gzip\r\n\r\n`),
        bytes,
        Buffer.from("\r\n"),
      ]);
    const body = Buffer.concat([
      field("database", "database.gz", files.database),
      field("volume", "volume.tgz", files.volume),
      Buffer.from(`--${boundary}--\r\n`),
    ]);
    return callHttp(h.baseUrl, "POST", "/backup/upload", {
      headers: { authorization: `Bearer ${adminToken}`, host: "backup-acme-dev.lfr.cloud", "content-type": `multipart/form-data; boundary=${boundary}` },
      body,
    });
  },
  () => callHttp(h.baseUrl, "POST", "/backup/upload", { headers: { "content-type": "multipart/form-data; boundary=x" }, body: Buffer.from("--x--\r\n") }),
);

// -------------------------------------------------------------------- tests

function order(key: string): number {
  const index = Object.keys(CASES).indexOf(key);
  return index === -1 ? Number.MAX_SAFE_INTEGER : index;
}

describe("the OpenAPI document", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    const result = await validate(structuredClone(document) as never);
    expect(result.valid, JSON.stringify((result as { errors?: unknown }).errors ?? null, null, 1)).toBe(true);
    expect(document.openapi).toBe("3.1.0");
  });

  it("documents every /api/v1 route handler in the app and every byte path", async () => {
    const documented = new Set(operations.map((op) => op.key));
    const undocumented: string[] = [];
    const files = readdirSync(path.join(ROOT, "app/api/v1"), { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith("route.ts"));
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const template = `/api/v1/${path.dirname(file)}`.replace(/\[(\w+)\]/g, "{$1}").replace(/\/\.$/, "");
      const mod = (await import(/* @vite-ignore */ path.join(ROOT, "app/api/v1", file))) as RouteModule;
      for (const method of METHODS)
        if (mod[method.toUpperCase()] && !documented.has(`${method.toUpperCase()} ${template}`)) undocumented.push(`${method.toUpperCase()} ${template}`);
    }
    for (const route of NODE_ROUTES) {
      const ops = operations.filter((op) => nodeRouteFor(op) === route);
      if (ops.length === 0) undocumented.push(`byte path ${route.pattern}`);
    }
    expect(undocumented).toEqual([]);
  });

  it("has calls for every operation, and none for an undocumented one", () => {
    expect(Object.keys(CASES).toSorted()).toEqual(operations.map((op) => op.key).toSorted());
  });
});

describe("every documented operation answers as documented", () => {
  beforeAll(async () => {
    h = await startHarness({ driver: "local" });
    volumeRoot = await mkdtemp(path.join(tmpdir(), "lifeboat-contract-"));
    admin = h.users.admin;
    member = h.users.member;
    for (const name of ["qa", "upl", "upl2"]) await addEnvironment(name, false);
    for (const name of ["bk", "rst", "imp", "del"]) await addEnvironment(name, true);
    adminToken = (
      await createApiToken(h.handle.db, { actor: admin.actor, input: { name: "contract", expiresInDays: 1, environmentId: null }, productionOnly: false })
    ).token;
    files.volume = await documentLibraryTgz({ extraBytes: 2048 });
    const prd = await h.environment("prd");
    await seedBackup(h.handle.db, h.storage, { id: ids.prd, environmentId: prd.id, files: { database: files.database, volume: files.volume } });
    await seedBackup(h.handle.db, h.storage, { id: ids.running, environmentId: prd.id, status: "running", files: {} });
    await seedBackup(h.handle.db, h.storage, {
      id: ids.del,
      environmentId: (await h.environment("del")).id,
      files: { database: files.database, volume: files.volume },
    });
    await seedBackup(h.handle.db, h.storage, {
      id: ids.rst,
      environmentId: (await h.environment("rst")).id,
      files: { database: files.database, volume: files.volume },
    });
  });
  afterAll(async () => {
    await h?.close();
    if (volumeRoot) await rm(volumeRoot, { recursive: true, force: true });
  });

  // In the order the calls are written: later ones use what earlier ones made (a session's parts before its completion).
  const inOrder = operations.toSorted((a, b) => order(a.key) - order(b.key));
  it.each(inOrder.map((op) => [op.key, op] as const))("%s", async (key, op) => {
    expect(
      await hasHandler(op),
      `${key} is documented but has no handler (no ${path.relative(ROOT, routeFile(op.template))} exporting ${op.method.toUpperCase()}, no byte-path route)`,
    ).toBe(true);
    const calls = CASES[key];
    expect(calls, `no calls written for ${key}`).toBeDefined();
    const statuses: number[] = [];
    const problems: string[] = [];
    for (const call of calls ?? []) {
      const reply = await call();
      statuses.push(reply.status);
      problems.push(...problemsWith(op, reply));
      if (op.template.startsWith("/api/v1/") && !nodeRouteFor(op) && reply.status !== 401) {
        // Every counted /api/v1 answer carries the rate-limit headers, success or error — unless nobody signed in.
        if (lastCallHadCredentials) {
          if (!reply.headers.has("x-ratelimit-limit")) problems.push(`${reply.status}: no X-RateLimit-Limit`);
        }
      }
    }
    expect(problems, problems.join("\n")).toEqual([]);
    expect(
      statuses.some((s) => s >= 200 && s < 300),
      `no success among ${statuses.join(", ")}`,
    ).toBe(true);
    expect(
      statuses.some((s) => s >= 400),
      `no error among ${statuses.join(", ")}`,
    ).toBe(true);
  });
});
