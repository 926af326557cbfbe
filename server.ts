/**
 * Lifeboat's process: one Node HTTP server in front of Next.js.
 *
 * It owns what must exist once per process before any request: validated
 * configuration, the database connection (for the embedded PGlite, the one
 * opener of its data folder), migrations, the demo seed and, in the embedded
 * default, the development identity provider on loopback.
 */
import { createServer } from "node:http";
import fs from "node:fs";

import next from "next";

import { DEV_ISSUER_ENV, developmentClient, resolveAuthSecret } from "@/lib/auth/secret";
import { startSessionPruning } from "@/lib/auth/sessions";
import { ConfigError, parseConfig } from "@/lib/config";
import type { AppConfig } from "@/lib/config";
import { closeDatabase, getDatabaseHandle } from "@/lib/db/client";
import { migrateDatabase } from "@/lib/db/migrate";
import { seedDemoBackups } from "@/lib/backups/demo/seed-demo-backups";
import { seedDemoSources } from "@/lib/backups/demo/seed-demo-sources";
import { CREATE_BACKUP_QUEUE, createBackupJobHandler } from "@/lib/backups/engine";
import { createImportJobHandler, IMPORT_QUEUE } from "@/lib/backups/import";
import { createRestoreJobHandler, RESTORE_QUEUE } from "@/lib/backups/restore";
import { startRetention } from "@/lib/backups/retention";
import { startBackupScheduler } from "@/lib/backups/schedule";
import { seedDemoProject } from "@/lib/db/seed";
import { createRequestListener } from "@/lib/http/entry";
import { createNodeRouter } from "@/lib/http/node-router";

import { startJobSweeper, startJobWorker } from "@/lib/jobs";
import { logger } from "@/lib/logger";
import { startMetricsServer } from "@/lib/metrics";
import { startUploadMaintenance } from "@/lib/uploads/maintenance";
import { getStorage } from "@/lib/storage/instance";
import { NODE_ROUTES } from "@/node-routes";

async function startDevelopmentSignIn(config: AppConfig, authSecret: string) {
  if (config.oidc.kind !== "development") return undefined;
  const { startDevOidcProvider } = await import("@/lib/auth/dev-oidc");
  const client = developmentClient(authSecret);
  const provider = await startDevOidcProvider({
    host: "127.0.0.1",
    port: config.oidc.port,
    clientId: client.clientId,
    clientSecret: client.clientSecret,
    redirectUris: [`${config.url}/api/auth/callback/sso`],
    postLogoutRedirectUris: [`${config.url}/signin`],
    cookieKeys: [authSecret],
  });
  process.env[DEV_ISSUER_ENV] = provider.issuer;
  logger.warn({ issuer: provider.issuer }, "development sign-in is running: anyone who can reach it signs in as a demo user");
  return provider;
}

async function main() {
  const dev = process.argv.includes("--dev");
  let config: AppConfig;
  try {
    config = parseConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }

  const authSecret = resolveAuthSecret(config);
  // next-auth reads these from the environment inside Next's route handlers.
  process.env.NEXTAUTH_SECRET = authSecret;
  process.env.NEXTAUTH_URL = config.url;

  const devSignIn = await startDevelopmentSignIn(config, authSecret);

  const handle = getDatabaseHandle();
  await migrateDatabase(config.database.kind === "postgres" ? { kind: "postgres", url: config.database.url } : { kind: "pglite", handle });
  if (config.seedDemo) await seedDemoProject(handle.db);
  if (config.storage.driver === "local") fs.mkdirSync(config.storage.root, { recursive: true });
  if (config.seedDemo) {
    const { created } = await seedDemoBackups({ db: handle.db, storage: getStorage() });
    if (created > 0) logger.info({ created }, "demo backups created");
    // A document library and a database per demo environment, so Create backup works with nothing configured.
    const sources = await seedDemoSources({ db: handle.db, config });
    if (sources.length > 0) logger.info({ sources }, "demo sources ready");
  }

  const stopUploadMaintenance = startUploadMaintenance({ db: () => handle.db, storage: getStorage });
  const stopSessionPruning = startSessionPruning({ db: handle.db });
  // Backups, restores and imports run on the durable job queue (lib/jobs): any instance may claim a job, exactly one does.
  const engineDeps = { db: handle.db, storage: getStorage() };
  const jobHandlers = {
    [CREATE_BACKUP_QUEUE]: createBackupJobHandler(engineDeps),
    [RESTORE_QUEUE]: createRestoreJobHandler(engineDeps),
    [IMPORT_QUEUE]: createImportJobHandler(engineDeps),
  };
  const stopJobWorker = startJobWorker({ db: handle.db, handlers: jobHandlers, concurrency: 2, pollMs: 1000 });
  const stopJobSweeper = startJobSweeper({ db: handle.db, handlers: jobHandlers });
  // Every instance runs these; the database decides which one acts (see each module).
  const stopScheduler = startBackupScheduler({ db: handle.db });
  const stopRetention = startRetention(engineDeps);

  const app = next({ dev, dir: process.cwd(), hostname: config.host, port: config.port });
  await app.prepare();
  const handleRequest = app.getRequestHandler();

  const server = createServer(
    createRequestListener({
      https: config.url.startsWith("https://"),
      serveBytePath: createNodeRouter(NODE_ROUTES),
      serveNext: (req, res) => handleRequest(req, res),
    }),
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, resolve);
  });
  // METRICS_LISTEN: GET /metrics on an address of its own, without credentials (lib/metrics/http.ts).
  const metricsServer = config.metrics.listen ? await startMetricsServer(config.metrics.listen) : undefined;
  logger.info(
    {
      url: config.url,
      listen: `${config.host}:${config.port}`,
      mode: config.mode,
      database: handle.kind,
      storage: config.storage.driver,
      metrics: config.metrics.listen ? `${config.metrics.listen.host}:${config.metrics.listen.port}` : config.metrics.token ? "/metrics (token)" : "off",
      dev,
    },
    "Lifeboat is ready",
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    stopUploadMaintenance();
    stopSessionPruning();
    logger.info({ signal }, "shutting down");
    server.close();
    server.closeIdleConnections();
    stopJobSweeper();
    stopScheduler();
    stopRetention();
    // Let running backups finish, within a typical orchestrator's grace period; an unfinished one is swept and retried.
    await Promise.race([stopJobWorker(), new Promise((resolve) => setTimeout(resolve, 25_000))]);
    await Promise.allSettled([devSignIn?.close(), app.close(), metricsServer?.close()]);
    await closeDatabase();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

main().catch((err: unknown) => {
  logger.fatal({ err }, "Lifeboat failed to start");
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
