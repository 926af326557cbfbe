import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";

import type { Actor } from "@/lib/auth/permissions";
import type { DbHandle } from "@/lib/db/client";
import { getEnvironment } from "@/lib/db/queries/projects";
import { resolveEnvironmentRoles } from "@/lib/db/queries/roles";
import type { Environment } from "@/lib/db/schema";
import { DEMO_GROUPS, seedDemoProject } from "@/lib/db/seed";
import { createTestDatabase } from "@/lib/db/testing";
import type { DatabaseKind } from "@/lib/db/testing";
import { createNodeRouter } from "@/lib/http/node-router";
import type { NodeRoute } from "@/lib/http/node-router";
import { NODE_ROUTES } from "@/node-routes";
import { createStorage } from "@/lib/storage";
import type { Storage } from "@/lib/storage/types";
import { createApiToken } from "@/lib/tokens/tokens";

import { requestHeaders } from "./request-headers";

/*
 * What the CLI talks to, minus Next.js: the byte paths through the real Node
 * router (NODE_ROUTES, as server.ts mounts them) and the /api/v1 JSON routes
 * by calling the real route modules' exported handlers with a web Request.
 * The test file must mock `next/headers` with currentHeaders() from
 * ./request-headers (and next-auth's session lookup, which tokens never
 * reach) before calling startApiServer().
 */

type Handler = (request: Request, context: { params: Promise<Record<string, string>> }) => Promise<Response>;
type RouteModule = Partial<Record<"GET" | "POST" | "PUT" | "DELETE", Handler>>;

interface JsonRoute {
  pattern: RegExp;
  names: string[];
  load: () => Promise<RouteModule>;
}

/** Each route types its own params; here they are all strings from the path. */
const asModule = (loading: Promise<unknown>) => loading as Promise<RouteModule>;

const ENV = "/api/v1/projects/([^/]+)/environments/([^/]+)";

const JSON_ROUTES: JsonRoute[] = [
  { pattern: /^\/api\/v1\/environments$/, names: [], load: () => asModule(import("@/app/api/v1/environments/route")) },
  {
    pattern: new RegExp(`^${ENV}/backups$`),
    names: ["projectId", "environment"],
    load: () => asModule(import("@/app/api/v1/projects/[projectId]/environments/[environment]/backups/route")),
  },
  {
    pattern: new RegExp(`^${ENV}/uploads$`),
    names: ["projectId", "environment"],
    load: () => asModule(import("@/app/api/v1/projects/[projectId]/environments/[environment]/uploads/route")),
  },
  { pattern: /^\/api\/v1\/backups\/([^/]+)$/, names: ["backupId"], load: () => asModule(import("@/app/api/v1/backups/[backupId]/route")) },
  { pattern: /^\/api\/v1\/backups\/([^/]+)\/restore$/, names: ["backupId"], load: () => asModule(import("@/app/api/v1/backups/[backupId]/restore/route")) },
  { pattern: /^\/api\/v1\/restores\/([^/]+)$/, names: ["restoreId"], load: () => asModule(import("@/app/api/v1/restores/[restoreId]/route")) },
  { pattern: /^\/api\/v1\/uploads\/([^/]+)$/, names: ["sessionId"], load: () => asModule(import("@/app/api/v1/uploads/[sessionId]/route")) },
  { pattern: /^\/api\/v1\/uploads\/([^/]+)\/complete$/, names: ["sessionId"], load: () => asModule(import("@/app/api/v1/uploads/[sessionId]/complete/route")) },
];

const DB_KEY = Symbol.for("lifeboat.db");
const STORAGE_KEY = Symbol.for("lifeboat.storage");

export interface LoggedRequest {
  method: string;
  path: string;
  range: string | null;
  status: number;
}

export interface ApiServer {
  baseUrl: string;
  handle: DbHandle & { url?: string };
  storage: Storage;
  /** The local storage driver's folder (objects/<key> holds each stored file). */
  storageRoot: string;
  /** An admin's token for every demo environment. */
  adminToken: string;
  /** A member's token: sees environments, may not download production or upload. */
  memberToken: string;
  /** Every request served, in the order they finished. */
  requests: LoggedRequest[];
  /** The most ranged GETs served at the same time since the last resetPeak(). */
  readonly rangePeak: number;
  resetPeak(): void;
  /** Called before each request is served; a test may answer it itself (return true) to simulate a fault. */
  intercept: ((req: IncomingMessage, res: ServerResponse) => boolean) | null;
  environment(name: string): Promise<Environment>;
  close(): Promise<void>;
}

async function actorFor(handle: DbHandle, email: string, groups: string[]): Promise<Actor> {
  const roles = await resolveEnvironmentRoles(handle.db, { groups });
  return { kind: "user", id: `sub-${email}`, email, name: email.split("@")[0] ?? email, groups, roles, operator: false };
}

async function serveJson(route: JsonRoute, match: RegExpExecArray, req: IncomingMessage, res: ServerResponse, baseUrl: string): Promise<void> {
  const routeModule = await route.load();
  const method = (req.method ?? "GET") as keyof RouteModule;
  const handler = routeModule[method];
  if (!handler) {
    res
      .writeHead(405, { "content-type": "application/json" })
      .end(JSON.stringify({ error: { code: "method_not_allowed", message: `${method} is not supported here.` } }));
    return;
  }
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  const hasBody = method !== "GET" && method !== "DELETE";
  const request = new Request(`${baseUrl}${req.url ?? "/"}`, {
    method,
    headers,
    ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream, duplex: "half" } : {}),
  } as RequestInit);
  const params = Object.fromEntries(route.names.map((name, i) => [name, decodeURIComponent(match[i + 1] ?? "")]));
  const response = await requestHeaders.run(headers, () => handler(request, { params: Promise.resolve(params) }));
  const body = Buffer.from(await response.arrayBuffer());
  const outgoing: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    outgoing[name] = value;
  });
  res.writeHead(response.status, { ...outgoing, "content-length": String(body.length) });
  res.end(body);
}

/** A fresh database (PGlite or real PostgreSQL) with the demo project, local-disk storage, tokens, and the server on 127.0.0.1. */
export async function startApiServer({ database = "pglite" }: { database?: DatabaseKind } = {}): Promise<ApiServer> {
  const handle = await createTestDatabase(database);
  await seedDemoProject(handle.db);
  const root = await mkdtemp(path.join(tmpdir(), "lifeboat-cli-storage-"));
  const storage = createStorage({ driver: "local", root });
  const g = globalThis as Record<symbol, unknown>;
  g[DB_KEY] = handle;
  g[STORAGE_KEY] = storage;
  process.env.NEXTAUTH_SECRET ??= "cli-tests-secret-that-is-long-enough-0123456789";

  const admin = await actorFor(handle, "alice@acme.test", [DEMO_GROUPS.admins]);
  const member = await actorFor(handle, "mia@acme.test", [DEMO_GROUPS.members]);
  const tokenInput = { name: "cli tests", expiresInDays: null, environmentId: null };
  const adminToken = (await createApiToken(handle.db, { actor: admin, input: tokenInput, productionOnly: false })).token;
  const memberToken = (await createApiToken(handle.db, { actor: member, input: tokenInput, productionOnly: false })).token;

  // Handlers audit after the response has ended: close() waits for them, or they would outlive the database.
  const inFlight = new Set<Promise<unknown>>();
  const track = <T>(work: Promise<T>): Promise<T> => {
    inFlight.add(work);
    void work.catch(() => undefined).finally(() => inFlight.delete(work));
    return work;
  };
  const byteRoutes: NodeRoute[] = NODE_ROUTES.map((r) => ({ ...r, handler: (req, res, params) => track(r.handler(req, res, params)) }));
  const serveBytes = createNodeRouter(byteRoutes);

  const requests: LoggedRequest[] = [];
  let activeRanges = 0;
  let rangePeak = 0;
  let baseUrl = "";
  const server: Server = createServer((req, res) => {
    const pathname = (req.url ?? "/").split("?")[0] ?? "/";
    const range = req.headers.range ?? null;
    res.on("finish", () => requests.push({ method: req.method ?? "GET", path: pathname, range, status: res.statusCode }));
    if (range) {
      activeRanges++;
      rangePeak = Math.max(rangePeak, activeRanges);
      res.on("close", () => activeRanges--);
    }
    if (api.intercept?.(req, res)) return;
    if (serveBytes(req, res)) return;
    for (const route of JSON_ROUTES) {
      const match = route.pattern.exec(pathname);
      if (!match) continue;
      void track(
        serveJson(route, match, req, res, baseUrl).catch((error: unknown) => {
          if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
          res.end(JSON.stringify({ error: { code: "internal", message: `test server: ${(error as Error).message}` } }));
        }),
      );
      return;
    }
    res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: { code: "not_found", message: `No route for ${pathname}.` } }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const api: ApiServer = {
    baseUrl,
    handle,
    storage,
    storageRoot: root,
    adminToken,
    memberToken,
    requests,
    intercept: null,
    get rangePeak() {
      return rangePeak;
    },
    resetPeak() {
      rangePeak = activeRanges;
    },
    async environment(name) {
      const env = await getEnvironment(handle.db, { projectId: "acme", name });
      if (!env) throw new Error(`no environment ${name}`);
      return env;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await Promise.allSettled([...inFlight]);
      delete g[DB_KEY];
      delete g[STORAGE_KEY];
      await handle.close();
      await rm(root, { recursive: true, force: true });
    },
  };
  return api;
}
