import { Transform } from "node:stream";

import { and, eq, inArray, sql } from "drizzle-orm";

import { BackupError, isBackupError } from "@/lib/backups/engine/errors";
import { confinedVolumeFolder } from "@/lib/backups/engine/volume";
import type { ExpansionLimits } from "@/lib/backups/verify/gzip";
import { getConfig } from "@/lib/config";
import type { Db } from "@/lib/db/client";
import { recordAuditEvent } from "@/lib/db/queries/audit";
import { getBackup } from "@/lib/db/queries/backups";
import type { BackupWithFiles } from "@/lib/db/queries/backups";
import { releaseEnvironmentLock } from "@/lib/db/queries/locks";
import { getRestore } from "@/lib/db/queries/restores";
import { backups, restores } from "@/lib/db/schema";
import type { Environment, Job, Restore } from "@/lib/db/schema";
import { formatBytes } from "@/lib/format";
import { holdEnvironmentLock, keepEnvironmentLock } from "@/lib/jobs/environment-lease";
import { throttledProgress } from "@/lib/jobs/progress";
import { jobLockHolder } from "@/lib/jobs/queue";
import { PermanentJobError } from "@/lib/jobs/worker";
import type { JobContext, JobHandler } from "@/lib/jobs/worker";
import { logger } from "@/lib/logger";
import { countRestoreFailure } from "@/lib/metrics/registry";
import type { Storage } from "@/lib/storage/types";
import { environmentLabel } from "@/lib/uploads/access";
import { DigestStream } from "@/lib/uploads/digest";

import { databaseRestorer, databaseTarget } from "./database";
import type { DatabaseRestorer } from "./database";
import { checkServerVersions } from "./version";
import { checkFreeSpace, extractVolume, removeVolumeLeftovers, swapVolume, unswapVolume, volumePaths, volumeSwapState } from "./volume";
import type { VolumePaths } from "./volume";

export const RESTORE_QUEUE = "backup.restore";

export interface RestorePayload {
  restoreId: string;
}

export interface RestoreEngineDeps {
  db: Db;
  storage: Storage;
  /** The environment psql and mysql run with (tests point PATH elsewhere). */
  toolEnv?: NodeJS.ProcessEnv;
  /** Environment lock lease; renewed every quarter of it while the restore runs. */
  lockTtlMs?: number;
  /** Least time between two progress writes. */
  progressIntervalMs?: number;
  /** Where volume folders may be (VOLUME_ROOTS); tests name their own. */
  volumeRoots?: readonly string[];
  /** How far the backup's files may expand; unset: MAX_EXPANDED_SIZE and MAX_EXPANSION_RATIO. */
  expansion?: ExpansionLimits;
}

export const RESTORE_LOCK_TTL_MS = 2 * 60_000;

export const STAGES = {
  checking: "Checking the server version and free disk space",
  loading: "Loading the database into a staging database and extracting the document library beside the live folder",
  swapping: "Swapping in the restored database and document library",
  cleaning: "Removing the previous database and document library",
  done: "Restored",
} as const;

const INTERNAL_REASON =
  "Lifeboat could not finish this restore because of an internal error (it has been logged). The environment was left as it was. Try again.";
export const ABANDONED_RESTORE_REASON =
  "The Lifeboat server stopped while restoring this backup. What it had staged was removed and the environment was left as it was. Try again.";

/** The first 8 hex digits of the restore's id: what names its staging database and folders. */
export function restoreShortId(restoreId: string): string {
  return restoreId.replaceAll("-", "").slice(0, 8);
}

/** The lock holder a restore's job uses; it names who asked, for the 409 other people see. */
export function restoreLockHolder(jobId: string, createdBy: string): string {
  return jobLockHolder(jobId, createdBy);
}

/** A running restore's bytes so far, written to its row (see throttledProgress). */
function restoreProgress(db: Db, restoreId: string, intervalMs: number) {
  return throttledProgress(
    intervalMs,
    (bytes) =>
      db
        .update(restores)
        .set({ progressBytes: bytes })
        .where(and(eq(restores.id, restoreId), eq(restores.status, "running"))),
    (err) => logger.warn({ err, restoreId }, "could not record restore progress"),
  );
}

async function setStage(db: Db, restoreId: string, stage: string): Promise<void> {
  await db
    .update(restores)
    .set({ stage })
    .where(and(eq(restores.id, restoreId), eq(restores.status, "running")));
}

function counting(onBytes: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      onBytes(chunk.length);
      callback(null, chunk);
    },
  });
}

class LockLostError extends BackupError {}

/** The source backup's restore status follows its latest restore only: an older one finishing late does not overwrite it. */
function isLatestRestoreOf(restore: Pick<Restore, "id" | "backupId" | "createdAt">) {
  return sql`not exists (select 1 from ${restores} r where r.backup_id = ${restore.backupId} and r.id <> ${restore.id} and r.created_at > ${restore.createdAt.toISOString()}::timestamptz)`;
}

/** Marks a restore failed (unless it already finished) and records why. */
export async function failRestore(db: Db, input: { restore: Restore; environment: Environment; reason: string; jobId?: string }): Promise<boolean> {
  const { restore, environment, reason } = input;
  const failed = await db.transaction(async (tx) => {
    const moved = await tx
      .update(restores)
      .set({ status: "failed", statusReason: reason, completedAt: new Date() })
      .where(and(eq(restores.id, restore.id), inArray(restores.status, ["queued", "running"])))
      .returning({ id: restores.id });
    if (moved.length === 0) return false;
    if (restore.backupId) {
      await tx
        .update(backups)
        .set({ restoreStatus: "failed", restoreResult: `Restore into ${environmentLabel(environment)} failed: ${reason}` })
        .where(and(eq(backups.id, restore.backupId), isLatestRestoreOf(restore)));
    }
    await recordAuditEvent(tx, {
      actor: restore.createdBy,
      actorType: restore.createdByType,
      action: "backup.restore_failed",
      projectId: environment.projectId,
      environmentId: environment.id,
      backupId: restore.backupId,
      detail: { restoreId: restore.id, target: environmentLabel(environment), reason, jobId: input.jobId ?? null },
    });
    return true;
  });
  if (failed) countRestoreFailure(environment);
  return failed;
}

async function recordCompleted(
  db: Db,
  input: { restore: Restore; environment: Environment; bytes: number; startedAt: number; note: string | null; jobId: string },
): Promise<void> {
  const { restore, environment } = input;
  const completedAt = new Date();
  const durationMs = completedAt.getTime() - input.startedAt;
  const result = `Restored into ${environmentLabel(environment)} on ${completedAt.toISOString().slice(0, 16).replace("T", " ")} UTC by ${restore.createdBy} (${formatBytes(input.bytes)} in ${Math.max(1, Math.round(durationMs / 1000))} s).`;
  await db.transaction(async (tx) => {
    const done = await tx
      .update(restores)
      .set({ status: "completed", statusReason: input.note, stage: STAGES.done, progressBytes: input.bytes, completedAt })
      .where(and(eq(restores.id, restore.id), inArray(restores.status, ["queued", "running"])))
      .returning({ id: restores.id });
    if (done.length === 0) throw new Error(`restore ${restore.id} left "running" while it ran`);
    if (restore.backupId) {
      await tx
        .update(backups)
        .set({ restoreStatus: "completed", restoreResult: result })
        .where(and(eq(backups.id, restore.backupId), isLatestRestoreOf(restore)));
    }
    await recordAuditEvent(tx, {
      actor: restore.createdBy,
      actorType: restore.createdByType,
      action: "backup.restore",
      projectId: environment.projectId,
      environmentId: environment.id,
      backupId: restore.backupId,
      detail: {
        restoreId: restore.id,
        backupId: restore.backupId,
        target: environmentLabel(environment),
        bytes: input.bytes,
        durationMs,
        note: input.note,
        jobId: input.jobId,
      },
    });
  });
}

/** Adds what the cleanup after a completed restore could not remove to the restore's note, for people to finish by hand. */
async function noteCleanupProblem(db: Db, restoreId: string, problem: string): Promise<void> {
  await db
    .update(restores)
    .set({ statusReason: sql`trim(coalesce(${restores.statusReason}, '') || ' ' || ${problem})` })
    .where(eq(restores.id, restoreId))
    .catch((err: unknown) => logger.error({ err, restoreId }, "could not record a restore's cleanup problem"));
}

/** The backup's two files, checked to be restorable into this environment. */
function restorableFiles(backup: BackupWithFiles, environment: Environment) {
  if (backup.status !== "completed") throw new BackupError(`Backup ${backup.id} is ${backup.status}, not completed, so it cannot be restored.`);
  const database = backup.files.find((f) => f.kind === "database");
  const volume = backup.files.find((f) => f.kind === "volume");
  if (!database || !volume) throw new BackupError(`Backup ${backup.id} does not have both its database and volume files, so it cannot be restored.`);
  const engine = backup.dbEngine ?? backup.manifest?.database.engine ?? null;
  if (engine && engine !== environment.dbEngine) {
    throw new BackupError(`Backup ${backup.id} holds a ${engine} database, but ${environmentLabel(environment)} runs ${environment.dbEngine}.`);
  }
  return { database, volume };
}

/** Removes what a run staged; never the live data, never the previous copies a swap kept. */
async function removeStaged(restorer: DatabaseRestorer, paths: VolumePaths, log: typeof logger): Promise<string | null> {
  const problems: string[] = [];
  await restorer.cleanup({ old: false }).catch((err: unknown) => {
    log.error({ err }, "could not drop the staging database");
    problems.push(`the staging database ${restorer.names.staging} could not be dropped`);
  });
  await removeVolumeLeftovers(paths, { old: false }).catch((err: unknown) => {
    log.error({ err }, "could not remove the staging folder");
    problems.push(`the staging folder ${paths.stage} could not be removed`);
  });
  return problems.length > 0 ? `Note: ${problems.join(" and ")}; remove it by hand.` : null;
}

/**
 * Restores one backup into its target environment. Everything slow happens
 * beside the live data: the dump loads into a staging database, the
 * document library extracts into a staging folder, both while their bytes
 * are checked against the backup's SHA-256. Only when both succeeded are
 * they swapped in — database first, then the folder, the database swapped
 * back if the folder's swap fails — so a failed restore leaves the
 * environment exactly as it was.
 */
export async function runRestore(deps: RestoreEngineDeps, job: Pick<Job, "id">, payload: RestorePayload, context?: Pick<JobContext, "signal">): Promise<void> {
  const { db, storage } = deps;
  const found = await getRestore(db, { id: payload.restoreId });
  if (!found) throw new PermanentJobError(`restore ${payload.restoreId} does not exist`);
  const { environment, ...restore } = found;
  if (restore.status === "completed" || restore.status === "failed") return;

  const ttlMs = deps.lockTtlMs ?? RESTORE_LOCK_TTL_MS;
  const holder = restoreLockHolder(job.id, restore.createdBy);
  const lease = { environment, holder, ttlMs, work: "restore" };
  await holdEnvironmentLock(db, { ...lease, operation: "restore", backupId: restore.backupId });

  const log = logger.child({ restoreId: restore.id, backupId: restore.backupId, jobId: job.id, environment: environmentLabel(environment) });
  const abort = new AbortController();
  // Losing the lock aborts the restore; before its swap that changes nothing.
  const stopHeartbeat = keepEnvironmentLock(db, lease, abort, (message) => new LockLostError(message));
  const onJobLost = () => abort.abort(context?.signal?.reason);
  context?.signal?.addEventListener("abort", onJobLost);
  const short = restoreShortId(restore.id);
  let restorer: DatabaseRestorer | null = null;
  let paths: VolumePaths | null = null;
  const startedAt = Date.now();
  try {
    const backup = restore.backupId ? await getBackup(db, { id: restore.backupId }) : undefined;
    const started = await db
      .update(restores)
      .set({
        status: "running",
        statusReason: null,
        stage: STAGES.checking,
        progressBytes: 0,
        startedAt: new Date(),
        totalBytes: backup ? backup.files.reduce((sum, f) => sum + f.sizeBytes, 0) : null,
      })
      .where(and(eq(restores.id, restore.id), inArray(restores.status, ["queued", "running"])))
      .returning();
    if (started.length === 0) return;
    if (restore.backupId) {
      await db
        .update(backups)
        .set({ restoreStatus: "running", restoreResult: null })
        .where(and(eq(backups.id, restore.backupId), isLatestRestoreOf(restore)));
    }
    if (!backup) throw new BackupError("The backup this restore was asked for has been deleted.");

    const files = restorableFiles(backup, environment);
    const target = databaseTarget(environment);
    restorer = databaseRestorer(target, short, deps.toolEnv);
    // Where the folder resolves now, inside the volume roots: a restore renames nothing outside them.
    paths = volumePaths(await confinedVolumeFolder(environment, { roots: deps.volumeRoots, mayBeMissing: true }), short);

    // Nothing is touched before these pass.
    const targetVersion = await restorer.serverVersion();
    const verdict = checkServerVersions(target.engine, { backup: backup.manifest?.database.serverVersion, target: targetVersion });
    if (!verdict.allowed) throw new BackupError(verdict.reason);
    await checkFreeSpace(paths.live, files.volume.sizeBytes);
    if (abort.signal.aborted) throw abort.signal.reason;

    await setStage(db, restore.id, verdict.note ? `${STAGES.loading}. ${verdict.note}` : STAGES.loading);
    const progress = restoreProgress(db, restore.id, deps.progressIntervalMs ?? 500);
    const onBytes = (n: number) => progress.add(n);
    const failFast = (error: unknown) => {
      abort.abort(error);
      throw error;
    };
    const stagedRestorer = restorer;
    const stagedPaths = paths;
    const expansion = deps.expansion ?? getConfig().expansion;
    // Settled, not raced: nothing is cleaned up while the other half is still writing.
    const [loaded, extracted] = await Promise.allSettled([
      (async () =>
        stagedRestorer.load({
          source: await storage.getObject(files.database.storageKey),
          transforms: [counting(onBytes), new DigestStream(files.database.sha256)],
          expansion: { limits: expansion, compressedBytes: files.database.sizeBytes },
          signal: abort.signal,
        }))().catch(failFast),
      (async () =>
        extractVolume({
          source: await storage.getObject(files.volume.storageKey),
          transforms: [counting(onBytes), new DigestStream(files.volume.sha256)],
          paths: stagedPaths,
          expansion: { limits: expansion, compressedBytes: files.volume.sizeBytes },
          signal: abort.signal,
        }))().catch(failFast),
    ]);
    // The first failure aborted the other half; report the one that started it.
    if (abort.signal.aborted) throw abort.signal.reason;
    if (loaded.status === "rejected") throw loaded.reason;
    if (extracted.status === "rejected") throw extracted.reason;

    await setStage(db, restore.id, STAGES.swapping);
    await restorer.swap();
    try {
      await swapVolume(paths);
    } catch (error) {
      await restorer.unswap();
      throw error;
    }

    // Final from here on: the environment runs on the restored data, so the
    // restore is recorded as completed now. Removing the previous copies
    // follows, still under the lock: dropping a database makes PostgreSQL
    // checkpoint, which nobody needs to wait for (a crash in between is
    // finished by settleAbandonedRestore).
    await recordCompleted(db, { restore, environment, bytes: progress.bytes, startedAt, note: verdict.note, jobId: job.id });
    log.info({ bytes: progress.bytes, ms: Date.now() - startedAt }, "restore completed");
    const problems: string[] = [];
    await restorer.cleanup({ old: true }).catch((err: unknown) => {
      log.error({ err }, "could not drop the previous database after a restore");
      problems.push(`the previous database ${restorer!.names.old} could not be dropped`);
    });
    await removeVolumeLeftovers(paths, { old: true }).catch((err: unknown) => {
      log.error({ err }, "could not remove the previous document library after a restore");
      problems.push(`the previous folder ${paths!.old} could not be removed`);
    });
    if (problems.length > 0) await noteCleanupProblem(db, restore.id, `Note: ${problems.join(" and ")}; remove it by hand.`);
  } catch (error) {
    const cleanupNote = restorer && paths ? await removeStaged(restorer, paths, log) : null;
    if (context?.signal?.aborted) {
      log.warn({ err: error }, "restore job lost its lease; the sweeper records its outcome");
      throw error;
    }
    const base = isBackupError(error) ? error.message : INTERNAL_REASON;
    const reason = cleanupNote ? `${base} ${cleanupNote}` : base;
    if (isBackupError(error)) log.warn({ reason }, "restore failed");
    else log.error({ err: error }, "restore failed with an internal error");
    await failRestore(db, { restore, environment, reason, jobId: job.id });
    throw new PermanentJobError(reason, { cause: error });
  } finally {
    stopHeartbeat();
    context?.signal?.removeEventListener("abort", onJobLost);
    await restorer?.close();
    if (!context?.signal?.aborted) {
      await releaseEnvironmentLock(db, { environmentId: environment.id, holder }).catch((err: unknown) =>
        log.error({ err }, "could not release the environment lock; it lapses on its own"),
      );
    }
  }
}

/** A completed restore whose worker died while removing the previous copies: remove them now. */
async function finishCleanup(deps: RestoreEngineDeps, restore: Restore & { environment: Environment }): Promise<void> {
  const short = restoreShortId(restore.id);
  const restorer = databaseRestorer(databaseTarget(restore.environment), short, deps.toolEnv);
  try {
    await restorer.cleanup({ old: true });
    await removeVolumeLeftovers(volumePaths(await confinedVolumeFolder(restore.environment, { roots: deps.volumeRoots, mayBeMissing: true }), short), {
      old: true,
    });
  } catch (error) {
    logger.error({ err: error, restoreId: restore.id }, "could not remove a completed restore's previous copies");
    await noteCleanupProblem(deps.db, restore.id, `Note: the previous database ${restorer.names.old} or folder could not be removed; remove them by hand.`);
  } finally {
    await restorer.close();
  }
}

/**
 * After a worker died mid-restore: finds how far it got from what exists on
 * the target, and settles it. Staged copies are removed; a database that was
 * swapped in without its document library is swapped back; a restore whose
 * two swaps both happened is finished (the previous copies removed).
 */
export async function settleAbandonedRestore(deps: RestoreEngineDeps, input: { restoreId: string; jobId: string }): Promise<void> {
  const { db } = deps;
  const found = await getRestore(db, { id: input.restoreId });
  if (!found || found.status === "failed") return;
  if (found.status === "completed") return finishCleanup(deps, found);
  const { environment, ...restore } = found;
  const log = logger.child({ restoreId: restore.id, jobId: input.jobId, environment: environmentLabel(environment) });
  let restorer: DatabaseRestorer | null = null;
  try {
    const short = restoreShortId(restore.id);
    restorer = databaseRestorer(databaseTarget(environment), short, deps.toolEnv);
    const paths = volumePaths(await confinedVolumeFolder(environment, { roots: deps.volumeRoots, mayBeMissing: true }), short);
    const database = await restorer.leftovers();
    const folder = await volumeSwapState(paths);
    // The folder is swapped only after the database: both happened once the folder is and no staging database is left.
    if (folder === "done" && !database.staging) {
      await restorer.cleanup({ old: true });
      await removeVolumeLeftovers(paths, { old: true });
      await recordCompleted(db, {
        restore,
        environment,
        bytes: restore.progressBytes,
        startedAt: (restore.startedAt ?? restore.createdAt).getTime(),
        note: "The Lifeboat server stopped after the restored data was swapped in; the cleanup was finished afterwards.",
        jobId: input.jobId,
      });
      return;
    }
    if (folder !== "none") await unswapVolume(paths);
    if (database.old) await restorer.unswap();
    await restorer.cleanup({ old: false });
    await removeVolumeLeftovers(paths, { old: false });
    await failRestore(db, { restore, environment, reason: ABANDONED_RESTORE_REASON, jobId: input.jobId });
  } catch (error) {
    log.error({ err: error }, "could not settle an abandoned restore");
    const detail = isBackupError(error) ? ` Cleaning up failed: ${error.message}` : " Cleaning up failed (it has been logged).";
    await failRestore(db, {
      restore,
      environment,
      reason: `The Lifeboat server stopped while restoring this backup.${detail} Check the environment's database and volume folder for *_lbstage_*/*_lbold_* leftovers.`,
      jobId: input.jobId,
    });
  } finally {
    await restorer?.close();
  }
}

/** The job handler for the worker: `backup.restore` jobs carry `{ restoreId }`. */
export function createRestoreJobHandler(deps: RestoreEngineDeps): JobHandler {
  return {
    async run(job, context) {
      const restoreId = (job.payload as Partial<RestorePayload>).restoreId;
      if (typeof restoreId !== "string") throw new PermanentJobError("a backup.restore job without a restoreId");
      await runRestore(deps, job, { restoreId }, context);
    },
    async onAbandoned(job, { db, final }) {
      const restoreId = (job.payload as Partial<RestorePayload>).restoreId;
      if (typeof restoreId !== "string") return;
      if (final) {
        await settleAbandonedRestore({ ...deps, db }, { restoreId, jobId: job.id });
        return;
      }
      // It runs again from the start (its staging is dropped and made afresh): show it as waiting.
      await db
        .update(restores)
        .set({ status: "queued", progressBytes: 0, stage: null })
        .where(and(eq(restores.id, restoreId), eq(restores.status, "running")));
    },
  };
}
