import { and, asc, eq, isNull, sql as drizzleSql } from "drizzle-orm";

import type { AppConfig } from "@/lib/config";
import { encryptSecret } from "@/lib/crypto/secrets";
import type { Db } from "@/lib/db/client";
import { environments } from "@/lib/db/schema";
import type { Environment } from "@/lib/db/schema";
import { setSourceNote } from "@/lib/environments/readiness";
import type { SourceNote } from "@/lib/environments/readiness";
import { logger } from "@/lib/logger";
import { environmentLabel } from "@/lib/uploads/access";

import { connectDemoServer, demoServer, ensureDemoDatabase } from "./demo-databases";
import type { DemoServer } from "./demo-databases";
import { demoVolumeGeneratedAt, demoVolumePath, ensureDemoVolume } from "./demo-volumes";
import { buildPortalData } from "./portal-data";
import type { PortalData } from "./portal-data";
import { DEMO_PROJECT_ID } from "./seed-demo-backups";

/*
 * Real sources for the demo project's environments, so that Create backup
 * and Restore… work on the embedded default with nothing configured: a
 * generated Liferay document library in the volume root and a database with
 * the matching Liferay tables on a PostgreSQL server, when one answers.
 *
 * The seed sets the sources in Lifeboat's database itself (it is trusted
 * code), and only where none is set or it is the demo's own: a source an
 * operator has set since is left as it is.
 */

export type DemoSourcesConfig = Pick<AppConfig, "mode" | "seedDemo" | "volumeRoots" | "demoDatabaseUrl" | "demoDatabasePrefix">;

export interface DemoSourceReport {
  environment: string;
  volumePath: string | null;
  volumeCreated: boolean;
  database: string | null;
  databaseCreated: boolean;
  /** Rows loaded into the database at this start (0 when its data was in already). */
  loadedRows: number;
  note: SourceNote;
}

/** The demo's portal is somewhat later than its newest backup (more users and notes), with a few thousand rows. */
const LIVE_GENERATION = 4;
const LIVE_ARTICLES = 2_000;

/** `acme_dev` for the `dev` environment with the default prefix. */
export function demoDatabaseName(prefix: string, environment: string): string {
  return `${prefix}_${environment}`;
}

/** Whether the environment's database source is unset, or already the demo's database on the demo server. */
function isDemoDatabaseSource(environment: Environment, server: DemoServer, name: string): boolean {
  if (environment.dbHost === null) return true;
  return environment.dbHost === server.host && (environment.dbPort ?? 5432) === server.port && environment.dbName === name;
}

/**
 * Only in the embedded default with the demo seeded. Returns what each demo
 * environment got; what it could not get is logged and kept as the
 * environment's source note, which the readiness check shows.
 */
export async function seedDemoSources({
  db,
  config,
  now = new Date(),
  connectTimeoutS = 3,
}: {
  db: Db;
  config: DemoSourcesConfig;
  now?: Date;
  connectTimeoutS?: number;
}): Promise<DemoSourceReport[]> {
  if (config.mode !== "embedded" || !config.seedDemo) return [];
  const demoEnvironments = await db.select().from(environments).where(eq(environments.projectId, DEMO_PROJECT_ID)).orderBy(asc(environments.name));
  const root = config.volumeRoots[0];
  const server = demoServer(config.demoDatabaseUrl);
  let connection: Awaited<ReturnType<typeof connectDemoServer>> | undefined;
  const reports: DemoSourceReport[] = [];
  try {
    for (const environment of demoEnvironments) {
      const label = environmentLabel(environment);
      const report: DemoSourceReport = {
        environment: label,
        volumePath: null,
        volumeCreated: false,
        database: null,
        databaseCreated: false,
        loadedRows: 0,
        note: {},
      };
      // An existing library's date, so that a database made at a later start describes the same documents.
      const takenAt = (root ? await demoVolumeGeneratedAt(root, label) : null) ?? now;
      let portal: PortalData | undefined;
      const data = () =>
        (portal ??= buildPortalData({
          seed: `${label}:live`,
          environment: environment.name,
          takenAt,
          generation: LIVE_GENERATION,
          articleCount: LIVE_ARTICLES,
        }));

      if (!root) {
        report.note.volume =
          "VOLUME_ROOTS names no folder, so the demo has nowhere to put its document libraries: unset VOLUME_ROOTS (the embedded default then uses DATA_DIR/volumes), then restart Lifeboat.";
      } else if (environment.volumePath === null || environment.volumePath === demoVolumePath(root, label)) {
        try {
          const volume = await ensureDemoVolume(root, label, data);
          report.volumePath = volume.volumePath;
          report.volumeCreated = volume.created;
          if (environment.volumePath === null) {
            await db
              .update(environments)
              .set({ volumePath: volume.volumePath, updatedAt: drizzleSql`now()` })
              .where(and(eq(environments.id, environment.id), isNull(environments.volumePath)));
          }
        } catch (error) {
          logger.error({ err: error, environment: label }, "could not make the demo document library");
          report.note.volume = `Lifeboat could not make the demo document library in ${root} (${(error as Error).message}): fix that folder, then restart Lifeboat.`;
        }
      }

      const name = demoDatabaseName(config.demoDatabasePrefix, environment.name);
      if (isDemoDatabaseSource(environment, server, name)) {
        connection ??= await connectDemoServer(server, connectTimeoutS);
        if ("problem" in connection) {
          report.note.database = connection.problem;
        } else {
          try {
            const result = await ensureDemoDatabase(connection.sql, server, { name, label, data, connectTimeoutS });
            if ("problem" in result) {
              report.note.database = result.problem;
            } else {
              report.database = name;
              report.databaseCreated = result.created;
              report.loadedRows = result.loadedRows;
              if (environment.dbHost === null) {
                await db
                  .update(environments)
                  .set({
                    dbEngine: "postgresql",
                    dbHost: server.host,
                    dbPort: server.port,
                    dbName: name,
                    dbUser: server.user,
                    dbPasswordEncrypted: server.password ? encryptSecret(server.password) : null,
                    updatedAt: drizzleSql`now()`,
                  })
                  .where(and(eq(environments.id, environment.id), isNull(environments.dbHost)));
              }
            }
          } catch (error) {
            logger.error({ err: error, environment: label, database: name }, "could not make the demo database");
            report.note.database = `Lifeboat could not make the demo database ${name} at ${server.where} (${(error as Error).message}): fix that, then restart Lifeboat.`;
          }
        }
      }

      const demo = [
        report.database ? `the database ${report.database} on ${server.where}` : null,
        report.volumePath ? `the document library ${report.volumePath}` : null,
      ].filter(Boolean);
      if (demo.length > 0) report.note.demo = `Demo data: ${demo.join(" and ")}, generated by the embedded default and marked as Lifeboat's demo.`;
      setSourceNote(environment.id, report.note);
      for (const problem of [report.note.database, report.note.volume]) if (problem) logger.warn({ environment: label }, problem);
      reports.push(report);
    }
  } finally {
    if (connection && "sql" in connection) await connection.sql.end({ timeout: 5 }).catch(() => undefined);
  }
  return reports;
}
