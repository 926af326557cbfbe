import { randomBytes } from "node:crypto";
import { createServer, request } from "node:http";
import type { IncomingHttpHeaders, Server } from "node:http";
import type { AddressInfo } from "node:net";

import { and, eq } from "drizzle-orm";

import type { DbHandle } from "@/lib/db/client";
import { environments } from "@/lib/db/schema";
import type { Environment } from "@/lib/db/schema";
import { seedDemoProject } from "@/lib/db/seed";
import { createTestDatabase } from "@/lib/db/testing";
import { createNodeRouter } from "@/lib/http/node-router";
import { NODE_ROUTES } from "@/node-routes";
import type { Storage } from "@/lib/storage/types";
import { trackHandlers } from "@/lib/testing/handler-tracker";
import type { HandlerTracker } from "@/lib/testing/handler-tracker";

// The process-wide singletons getDb() and getStorage() read (lib/db/client.ts, lib/storage/instance.ts).
const DB_KEY = Symbol.for("lifeboat.db");
const STORAGE_KEY = Symbol.for("lifeboat.storage");
type Singletons = typeof globalThis & { [DB_KEY]?: DbHandle; [STORAGE_KEY]?: Storage };

export interface DownloadHarness {
  baseUrl: string;
  handle: DbHandle;
  storage: Storage;
  environments: { prd: Environment; uat: Environment };
  /** Signs session cookies; the handler reads it from NEXTAUTH_SECRET like in server.ts. */
  secret: string;
  /** The byte-path handlers' calls: `settled()` is when a download's audit row has been written (or would have been). */
  handlers: HandlerTracker;
  close(): Promise<void>;
}

async function findEnvironment(handle: DbHandle, name: string): Promise<Environment> {
  const [env] = await handle.db
    .select()
    .from(environments)
    .where(and(eq(environments.projectId, "acme"), eq(environments.name, name)));
  if (!env) throw new Error(`the demo seed has no ${name} environment`);
  return env;
}

/**
 * The byte-path router on a real HTTP server on loopback, over a fresh PGlite
 * database with the demo project and the given storage — the same wiring as
 * server.ts minus Next.js.
 */
export async function startDownloadHarness(storage: Storage): Promise<DownloadHarness> {
  const secret = randomBytes(32).toString("base64url");
  process.env.NEXTAUTH_SECRET = secret;
  // next-auth picks the `__Secure-` cookie name when NEXTAUTH_URL is https.
  delete process.env.NEXTAUTH_URL;

  const handle = await createTestDatabase("pglite");
  await seedDemoProject(handle.db);
  const g = globalThis as Singletons;
  g[DB_KEY] = handle;
  g[STORAGE_KEY] = storage;

  // The handler audits after the response has ended; closing must wait for that, or the write
  // would land after the globals are gone and getDb() would open the default ./data database.
  const handlers = trackHandlers(NODE_ROUTES);
  const route = createNodeRouter(handlers.routes);
  const server: Server = createServer((req, res) => {
    if (route(req, res)) return;
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    handle,
    storage,
    environments: { prd: await findEnvironment(handle, "prd"), uat: await findEnvironment(handle, "uat") },
    secret,
    handlers,
    async close() {
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      await closed;
      await handlers.settled();
      g[DB_KEY] = undefined;
      g[STORAGE_KEY] = undefined;
      await handle.close();
    },
  };
}

export interface RawReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A plain HTTP request without connection reuse, so every test sees exactly what the server sent. */
export function rawRequest(url: string, init: { method?: string; headers?: Record<string, string> } = {}): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? "GET", headers: init.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
  });
}
