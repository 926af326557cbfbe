import { Readable } from "node:stream";
import { createGzip } from "node:zlib";

import { eq } from "drizzle-orm";

import { generateBackupId } from "@/lib/backups/backup-id";
import { streamToStorage } from "@/lib/backups/engine/stream-to-storage";
import type { Db } from "@/lib/db/client";
import { backupFiles, backups, environments } from "@/lib/db/schema";
import type { Backup, BackupManifest, NewBackup } from "@/lib/db/schema";
import type { Storage } from "@/lib/storage/types";

import { withDocumentLibraryArchive } from "./document-library";
import { buildPortalData } from "./portal-data";
import { createRandom } from "./random";
import { DEMO_POSTGRES_VERSION, sqlDumpChunks } from "./sql-dump";

export const DEMO_PROJECT_ID = "acme";

interface DemoBackupPlan {
  daysAgo: number;
  /** UTC time of day as [h, m, s, ms]; the milliseconds matter, the list's cursor compares created_at exactly. */
  at: readonly [number, number, number, number];
  origin: Backup["origin"];
  createdBy: string;
  description?: string;
  /** What the job would have recorded; a failed backup has no files. */
  failure?: string;
}

const DEMO_ADMIN = "admin@acme.test";
const DEMO_NONPROD_ADMIN = "nonprod-admin@acme.test";

// A small history that tells a story: a migration upload, nightly runs at the
// prd schedule's 03:00 UTC, one of which failed and was followed by a manual backup.
const DEMO_BACKUPS: Record<string, readonly DemoBackupPlan[]> = {
  prd: [
    { daysAgo: 4, at: [10, 12, 7, 318], origin: "uploaded", createdBy: DEMO_ADMIN, description: "Migrated from the on-premises portal" },
    { daysAgo: 3, at: [3, 0, 0, 412], origin: "scheduled", createdBy: "scheduler" },
    {
      daysAgo: 2,
      at: [3, 0, 0, 207],
      origin: "scheduled",
      createdBy: "scheduler",
      failure: 'pg_dump: error: connection to server at "db.acme.internal" (10.0.0.12), port 5432 failed: Connection refused',
    },
    { daysAgo: 2, at: [8, 46, 31, 950], origin: "manual", createdBy: DEMO_ADMIN, description: "Re-run after the failed nightly backup" },
  ],
  uat: [
    { daysAgo: 6, at: [15, 20, 44, 31], origin: "uploaded", createdBy: DEMO_NONPROD_ADMIN, description: "Copy of production for acceptance testing" },
    { daysAgo: 1, at: [11, 5, 12, 664], origin: "manual", createdBy: DEMO_NONPROD_ADMIN },
  ],
  dev: [{ daysAgo: 1, at: [16, 41, 9, 127], origin: "manual", createdBy: DEMO_NONPROD_ADMIN }],
};

const DAY_MS = 24 * 60 * 60 * 1000;

function planTime(plan: DemoBackupPlan, now: Date): Date {
  const [h, m, s, ms] = plan.at;
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  // daysAgo ≥ 1 keeps every demo backup in the past whatever the time of day now.
  return new Date(today - plan.daysAgo * DAY_MS + ((h * 60 + m) * 60 + s) * 1000 + ms);
}

async function removeObjects(storage: Storage, keys: readonly string[]): Promise<void> {
  // Best effort: the caller is already reporting why these are not needed.
  await Promise.allSettled(keys.map((key) => storage.deleteObject(key)));
}

async function hasBackups(db: Db, environmentId: string): Promise<boolean> {
  const [row] = await db.select({ id: backups.id }).from(backups).where(eq(backups.environmentId, environmentId)).limit(1);
  return row !== undefined;
}

interface PreparedBackup {
  backup: NewBackup;
  files: (typeof backupFiles.$inferInsert)[];
}

async function prepareCompletedBackup(input: {
  storage: Storage;
  environment: string;
  environmentId: string;
  plan: DemoBackupPlan;
  id: string;
  createdAt: Date;
  startedAt: Date;
  completedAt: Date;
  generation: number;
  written: string[];
}): Promise<PreparedBackup> {
  const { storage, plan, id, createdAt, written } = input;
  const data = buildPortalData({ seed: id, environment: input.environment, takenAt: input.startedAt, generation: input.generation });

  const databaseKey = `backups/${id}/database.gz`;
  written.push(databaseKey);
  const database = await streamToStorage({
    storage,
    key: databaseKey,
    source: Readable.from(sqlDumpChunks(data), { objectMode: false }),
    transforms: [createGzip()],
  });

  const volumeKey = `backups/${id}/volume.tgz`;
  written.push(volumeKey);
  const volume = await withDocumentLibraryArchive(data, (archive) => streamToStorage({ storage, key: volumeKey, source: archive, transforms: [] }));

  const manifest: BackupManifest = {
    version: 1,
    backupId: id,
    createdAt: createdAt.toISOString(),
    createdBy: plan.createdBy,
    origin: plan.origin,
    parentId: null,
    database: { engine: "postgresql", serverVersion: DEMO_POSTGRES_VERSION, dumpTool: `pg_dump (PostgreSQL) ${DEMO_POSTGRES_VERSION}` },
    files: [
      { kind: "database", name: "database.gz", size: database.size, sha256: database.sha256 },
      { kind: "volume", name: "volume.tgz", size: volume.size, sha256: volume.sha256 },
    ],
  };
  const totalBytes = database.size + volume.size;
  return {
    backup: {
      id,
      environmentId: input.environmentId,
      description: plan.description ?? null,
      origin: plan.origin,
      status: "completed",
      progressBytes: totalBytes,
      totalBytes,
      verifyStatus: "passed",
      dbEngine: "postgresql",
      parentId: null,
      createdBy: plan.createdBy,
      createdByType: plan.origin === "scheduled" ? "system" : "user",
      manifest,
      createdAt,
      startedAt: input.startedAt,
      completedAt: input.completedAt,
    },
    files: [
      { backupId: id, kind: "database", fileName: "database.gz", sizeBytes: database.size, sha256: database.sha256, storageKey: databaseKey },
      { backupId: id, kind: "volume", fileName: "volume.tgz", sizeBytes: volume.size, sha256: volume.sha256, storageKey: volumeKey },
    ],
  };
}

/** Returns how many backups it created: all of the environment's plan, or none. */
async function seedEnvironment(
  db: Db,
  storage: Storage,
  environment: { id: string; name: string },
  plans: readonly DemoBackupPlan[],
  now: Date,
): Promise<number> {
  const written: string[] = [];
  try {
    const prepared: PreparedBackup[] = [];
    let generation = 0;
    const dated = plans.map((plan) => ({ plan, createdAt: planTime(plan, now) })).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
    for (const { plan, createdAt } of dated) {
      const id = generateBackupId(DEMO_PROJECT_ID, createdAt);
      const timing = createRandom(`${id}:timing`);
      const startedAt = new Date(createdAt.getTime() + timing.int(600, 4_000));
      if (plan.failure) {
        prepared.push({
          backup: {
            id,
            environmentId: environment.id,
            origin: plan.origin,
            status: "failed",
            statusReason: plan.failure,
            dbEngine: "postgresql",
            createdBy: plan.createdBy,
            createdAt,
            startedAt,
            completedAt: new Date(startedAt.getTime() + timing.int(150, 900)),
          },
          files: [],
        });
        continue;
      }
      const completedAt = new Date(startedAt.getTime() + timing.int(plan.origin === "uploaded" ? 8_000 : 40_000, 150_000));
      prepared.push(
        await prepareCompletedBackup({
          storage,
          environment: environment.name,
          environmentId: environment.id,
          plan,
          id,
          createdAt,
          startedAt,
          completedAt,
          generation: generation++,
          written,
        }),
      );
    }

    // Rows only after every file is stored, all of an environment's in one
    // transaction: a crash leaves at worst unreferenced objects, never a
    // completed backup without files or a half-seeded environment.
    const inserted = await db.transaction(async (tx) => {
      // Two processes seeding one database at once: the second waits here, then sees the first's rows.
      await tx.select({ id: environments.id }).from(environments).where(eq(environments.id, environment.id)).for("update");
      if (await hasBackups(tx, environment.id)) return false;
      await tx.insert(backups).values(prepared.map((p) => p.backup));
      const files = prepared.flatMap((p) => p.files);
      if (files.length > 0) await tx.insert(backupFiles).values(files);
      return true;
    });
    if (!inserted) {
      await removeObjects(storage, written);
      return 0;
    }
    return prepared.length;
  } catch (error) {
    await removeObjects(storage, written);
    throw error;
  }
}

export interface SeedDemoBackupsInput {
  db: Db;
  storage: Storage;
  /** Demo backups are dated in the few days before this. */
  now?: Date;
}

/**
 * Real demo backups for the demo project's environments (see
 * `seedDemoProject`): gzip'd PostgreSQL dumps and tar.gz document libraries
 * that a new user can download and open. Only environments without any backup
 * get them, so it is safe to run on every start.
 */
export async function seedDemoBackups({ db, storage, now = new Date() }: SeedDemoBackupsInput): Promise<{ created: number }> {
  const demoEnvironments = await db
    .select({ id: environments.id, name: environments.name })
    .from(environments)
    .where(eq(environments.projectId, DEMO_PROJECT_ID));
  let created = 0;
  for (const environment of demoEnvironments) {
    const plans = DEMO_BACKUPS[environment.name];
    if (!plans || (await hasBackups(db, environment.id))) continue;
    created += await seedEnvironment(db, storage, environment, plans, now);
  }
  return { created };
}
