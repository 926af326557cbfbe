import { createHash, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";

import { getConfig } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import type { Db } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import type { NodeHandler } from "@/lib/http/node-router";
import { logger } from "@/lib/logger";

import { refreshDatabaseGauges } from "./collect";
import { getInstruments } from "./registry";

/*
 * GET /metrics, in Prometheus's text format. Off unless configured: with
 * METRICS_TOKEN the console's own port serves it to that Bearer token (and
 * to nothing else: no session or API token reaches it); with METRICS_LISTEN
 * a small server of its own serves it on that address without credentials,
 * for a port only the monitoring network can reach. Neither set: 404.
 */

let scraping: Promise<unknown> = Promise.resolve();

/** One scrape at a time per process: the gauges are reset and refilled, and two refills must not interleave. */
export function scrapeMetrics(db: Db = getDb()): Promise<{ contentType: string; body: string }> {
  const next = scraping.then(async () => {
    const instruments = getInstruments();
    await refreshDatabaseGauges(db, instruments);
    return { contentType: instruments.registry.contentType, body: await instruments.registry.metrics() };
  });
  scraping = next.catch(() => undefined);
  return next;
}

const digest = (value: string) => createHash("sha256").update(value).digest();

/** Compares in constant time; hashing first makes the lengths equal, so not even the token's length leaks. */
export function isMetricsToken(presented: string | undefined, token: string): boolean {
  return presented !== undefined && timingSafeEqual(digest(presented), digest(token));
}

function bearer(req: IncomingMessage): string | undefined {
  const value = req.headers.authorization;
  const match = typeof value === "string" ? /^Bearer\s+(\S+)\s*$/i.exec(value) : null;
  return match?.[1];
}

async function send(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { contentType, body } = await scrapeMetrics();
  res.writeHead(200, { "content-type": contentType, "content-length": Buffer.byteLength(body), "cache-control": "no-store" });
  res.end(req.method === "HEAD" ? undefined : body);
}

/** `GET /metrics` on the console's port (NODE_ROUTES): only with METRICS_TOKEN, and only for it. */
export const serveMetrics: NodeHandler = async (req, res) => {
  const { token } = getConfig().metrics;
  if (!token) throw new AppError("not_found", "There is nothing here: metrics are off on this port (METRICS_TOKEN is not set).");
  if (!isMetricsToken(bearer(req), token)) {
    throw new AppError("unauthorized", "Send the metrics token (METRICS_TOKEN) as Authorization: Bearer <token>.", undefined, {
      "www-authenticate": 'Bearer realm="metrics"',
    });
  }
  await send(req, res);
};

/** METRICS_LISTEN's server: /metrics with no credentials, everything else 404. Resolves once listening; the function closes it. */
export async function startMetricsServer({ host, port }: { host: string; port: number }): Promise<{ close: () => Promise<void>; port: number }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/metrics" || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("Only GET /metrics is served here.\n");
      return;
    }
    send(req, res).catch((err: unknown) => {
      logger.error({ err }, "metrics scrape failed");
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
      res.end("The metrics could not be read; the error is in Lifeboat's log.\n");
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
