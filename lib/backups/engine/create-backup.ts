import { and, eq, inArray } from "drizzle-orm";

import { decryptSecret, SecretError } from "@/lib/crypto/secrets";
import type { Db } from "@/lib/db/client";
import { recordAuditEvent } from "@/lib/db/queries/audit";
import { getBackup } from "@/lib/db/queries/backups";
import { releaseEnvironmentLock } from "@/lib/db/queries/locks";
import { backupFiles, backups } from "@/lib/db/schema";
import type { Backup, BackupFile, BackupManifest, Environment, Job } from "@/lib/db/schema";
import { holdEnvironmentLock, keepEnvironmentLock } from "@/lib/jobs/environment-lease";
import { throttledProgress } from "@/lib/jobs/progress";
import { jobLockHolder } from "@/lib/jobs/queue";
import { PermanentJobError } from "@/lib/jobs/worker";
import type { JobContext, JobHandler } from "@/lib/jobs/worker";
import { checkDatabaseSource } from "@/lib/environments/source-fields";
import { logger } from "@/lib/logger";
import { countBackupFailure } from "@/lib/metrics/registry";
import type { Storage } from "@/lib/storage/types";
import { environmentLabel } from "@/lib/uploads/access";

import { DUMP_TOOL, resolveDumpCommand, runTool, serverVersionFromHeader, toolVersion } from "./dump";
import type { DatabaseConnection, DatabaseSource } from "./dump";
import { BackupError, readableBackupFailure } from "./errors";
import { createBackupGzip, HeadSniffer, streamToStorage, verifyStoredObject } from "./stream-to-storage";
import type { StoredObject } from "./stream-to-storage";
import { confinedVolumeFolder, volumeTarStream } from "./volume";

export const CREATE_BACKUP_QUEUE = "backup.create";

export interface CreateBackupPayload {
  backupId: string;
}

export interface BackupEngineDeps {
  db: Db;
  storage: Storage;
  /** The environment dump tools run with (tests point PATH elsewhere). */
  toolEnv?: NodeJS.ProcessEnv;
  /** Environment lock lease; renewed every quarter of it while the backup runs. */
  lockTtlMs?: number;
  /** Least time between two progress writes. */
  progressIntervalMs?: number;
  /** Where volume folders may be (VOLUME_ROOTS); tests name their own. */
  volumeRoots?: readonly string[];
}

export const BACKUP_LOCK_TTL_MS = 2 * 60_000;
/** How long a queued backup keeps its environment before a worker takes it (renewed then). */
export const QUEUED_LOCK_TTL_MS = 30 * 60_000;

export const FILE_NAMES = { database: "database.gz", volume: "volume.tgz" } as const;

export function backupObjectKey(backupId: string, kind: keyof typeof FILE_NAMES): string {
  return `backups/${backupId}/${FILE_NAMES[kind]}`;
}

/** The lock holder a backup's job uses; it names who asked, for the 409 other people see. */
export function backupLockHolder(jobId: string, createdBy: string): string {
  return jobLockHolder(jobId, createdBy);
}

const INTERNAL_REASON = "Lifeboat could not finish this backup because of an internal error (it has been logged). Try again.";

/** Whether an environment has what a backup reads and a restore writes: a database connection and a volume folder. */
export function missingBackupSource(environment: Environment): string | null {
  const missing: string[] = [];
  if (!environment.dbEngine || !environment.dbHost || !environment.dbName || !environment.dbUser)
    missing.push("database connection (engine, host, database name and user)");
  if (!environment.volumePath) missing.push("volume folder");
  // Read after "has no": "has no database connection (…) and no volume folder configured".
  return missing.length > 0 ? missing.join(" and no ") : null;
}

/** The environment's database password, decrypted; a BackupError that asks for it again when it cannot be. */
function environmentPassword(environment: Environment): string | null {
  if (!environment.dbPasswordEncrypted) return null;
  try {
    return decryptSecret(environment.dbPasswordEncrypted);
  } catch (error) {
    if (error instanceof SecretError)
      throw new BackupError(`The database password of ${environmentLabel(environment)} cannot be read: ${error.message} Enter it again.`);
    throw error;
  }
}

/**
 * The environment's database connection; a BackupError naming what is not
 * configured, ending with `consequence` ("so there is nothing to back up").
 */
export function databaseConnection(environment: Environment, consequence: string): DatabaseConnection {
  const missing = missingBackupSource(environment);
  if (missing) throw new BackupError(`${environmentLabel(environment)} has no ${missing} configured, ${consequence}.`);
  const connection = {
    engine: environment.dbEngine!,
    host: environment.dbHost!,
    port: environment.dbPort,
    database: environment.dbName!,
    user: environment.dbUser!,
  };
  // Checked again here, right before a tool is given these values: a row may predate the settings' rules.
  const invalid = checkDatabaseSource(connection);
  if (invalid) throw new BackupError(`${environmentLabel(environment)}'s database source is not valid: ${invalid}. An operator can correct it in Settings.`);
  return { ...connection, password: environmentPassword(environment) };
}

function databaseSource(environment: Environment): DatabaseSource {
  return {
    ...databaseConnection(environment, "so there is nothing to back up"),
    excludedTables: environment.excludedTables,
    databasesToIgnore: environment.databasesToIgnore,
  };
}

/** A running backup's bytes so far, written to its row (see throttledProgress). */
export function progressReporter(db: Db, backupId: string, intervalMs: number) {
  return throttledProgress(
    intervalMs,
    (bytes) =>
      db
        .update(backups)
        .set({ progressBytes: bytes })
        .where(and(eq(backups.id, backupId), eq(backups.status, "running"))),
    (err) => logger.warn({ err, backupId }, "could not record backup progress"),
  );
}

class LockLostError extends BackupError {}

async function dumpDatabase(deps: BackupEngineDeps, source: DatabaseSource, key: string, onBytes: (n: number) => void, signal: AbortSignal) {
  const tool = runTool(await resolveDumpCommand(source, deps.toolEnv), deps.toolEnv);
  const sniffer = new HeadSniffer();
  const stored = streamToStorage({ storage: deps.storage, key, source: tool.stdout, transforms: [sniffer, createBackupGzip()], onBytes, signal }).catch(
    (error: unknown) => {
      tool.kill();
      throw error;
    },
  );
  // The tool's exit decides: an empty or partial stdout from a failed dump must never pass.
  const [exit, object] = await Promise.allSettled([tool.exited, stored]);
  if (exit.status === "rejected") throw exit.reason;
  if (object.status === "rejected") throw object.reason;
  return { object: object.value, serverVersion: serverVersionFromHeader(source.engine, sniffer.head) };
}

async function archiveVolume(
  deps: BackupEngineDeps,
  volumePath: string,
  key: string,
  onBytes: (n: number) => void,
  signal: AbortSignal,
): Promise<StoredObject> {
  return streamToStorage({ storage: deps.storage, key, source: await volumeTarStream(volumePath), transforms: [createBackupGzip()], onBytes, signal });
}

async function deleteBackupObjects(storage: Storage, backupId: string): Promise<void> {
  await Promise.allSettled(
    (["database", "volume"] as const).map((kind) =>
      storage
        .deleteObject(backupObjectKey(backupId, kind))
        .catch((err: unknown) => logger.warn({ err, backupId, kind }, "could not delete a failed backup's object")),
    ),
  );
}

/**
 * Marks a backup that a job was making (created, imported) failed unless it
 * already finished, deletes what it stored, and audits why: `action` names
 * what failed, `detail` and `request` add to the audit row.
 */
export async function failBackup(
  deps: { db: Db; storage: Storage },
  input: {
    backup: Pick<Backup, "id" | "createdBy" | "createdByType">;
    environment: Environment;
    reason: string;
    jobId?: string;
    action?: string;
    detail?: Record<string, unknown>;
    request?: { ip?: string | null; userAgent?: string | null };
  },
): Promise<boolean> {
  await deleteBackupObjects(deps.storage, input.backup.id);
  const failed = await deps.db.transaction(async (tx) => {
    const moved = await tx
      .update(backups)
      .set({ status: "failed", statusReason: input.reason, verifyStatus: "failed", completedAt: new Date() })
      .where(and(eq(backups.id, input.backup.id), inArray(backups.status, ["queued", "running"])))
      .returning({ id: backups.id });
    if (moved.length === 0) return false;
    await recordAuditEvent(tx, {
      actor: input.backup.createdBy,
      actorType: input.backup.createdByType,
      action: input.action ?? "backup.create_failed",
      projectId: input.environment.projectId,
      environmentId: input.environment.id,
      backupId: input.backup.id,
      ip: input.request?.ip ?? null,
      userAgent: input.request?.userAgent ?? null,
      detail: { reason: input.reason, jobId: input.jobId ?? null, ...input.detail },
    });
    return true;
  });
  if (failed) countBackupFailure(input.environment, input.action === "backup.import_failed" ? "import" : "create");
  return failed;
}

async function recordCompleted(
  db: Db,
  input: {
    backup: Backup;
    environment: Environment;
    database: StoredObject;
    volume: StoredObject;
    serverVersion: string | null;
    dumpTool: string | null;
    jobId: string;
  },
): Promise<void> {
  const { backup, environment, database, volume } = input;
  const completedAt = new Date();
  const files = [
    { kind: "database" as const, name: FILE_NAMES.database, object: database },
    { kind: "volume" as const, name: FILE_NAMES.volume, object: volume },
  ];
  const manifest: BackupManifest = {
    version: 1,
    backupId: backup.id,
    createdAt: completedAt.toISOString(),
    createdBy: backup.createdBy,
    origin: backup.origin,
    parentId: backup.parentId,
    database: { engine: environment.dbEngine, serverVersion: input.serverVersion, dumpTool: input.dumpTool },
    files: files.map((f) => ({ kind: f.kind, name: f.name, size: f.object.size, sha256: f.object.sha256 })),
  };
  await completeRunningBackup(db, {
    backup,
    environment,
    files: files.map((f) => ({ kind: f.kind, name: f.name, size: f.object.size, sha256: f.object.sha256, storageKey: f.object.key })),
    verify: {
      status: "passed",
      text: `${FILE_NAMES.database} and ${FILE_NAMES.volume} were read back from storage; sizes and SHA-256 match what was written.`,
    },
    dbEngine: environment.dbEngine,
    manifest,
    completedAt,
    audit: {
      action: "backup.create",
      detail: { jobId: input.jobId, origin: backup.origin, files: manifest.files, serverVersion: input.serverVersion, dumpTool: input.dumpTool },
    },
  });
}

/**
 * A running backup's job finished: the backup becomes completed with its
 * files, manifest and verify result, and is audited, in one transaction. A
 * backup someone else settled meanwhile (a sweep that took the job for dead)
 * keeps their verdict: this throws instead.
 */
export async function completeRunningBackup(
  db: Db,
  input: {
    backup: Pick<Backup, "id" | "createdBy" | "createdByType">;
    environment: Environment;
    files: { kind: BackupFile["kind"]; name: string; size: number; sha256: string; storageKey: string }[];
    verify: { status: Backup["verifyStatus"]; text: string };
    dbEngine: Backup["dbEngine"];
    manifest: BackupManifest;
    completedAt: Date;
    audit: { action: string; detail: Record<string, unknown>; ip?: string | null; userAgent?: string | null };
  },
): Promise<void> {
  const { backup, environment } = input;
  const total = input.files.reduce((sum, f) => sum + f.size, 0);
  await db.transaction(async (tx) => {
    const done = await tx
      .update(backups)
      .set({
        status: "completed",
        statusReason: null,
        progressBytes: total,
        totalBytes: total,
        verifyStatus: input.verify.status,
        verifyResult: input.verify.text,
        dbEngine: input.dbEngine,
        manifest: input.manifest,
        completedAt: input.completedAt,
      })
      .where(and(eq(backups.id, backup.id), eq(backups.status, "running")))
      .returning({ id: backups.id });
    if (done.length === 0) throw new Error(`backup ${backup.id} left "running" while its job ran`);
    await tx
      .insert(backupFiles)
      .values(input.files.map((f) => ({ backupId: backup.id, kind: f.kind, fileName: f.name, sizeBytes: f.size, sha256: f.sha256, storageKey: f.storageKey })));
    await recordAuditEvent(tx, {
      actor: backup.createdBy,
      actorType: backup.createdByType,
      action: input.audit.action,
      projectId: environment.projectId,
      environmentId: environment.id,
      backupId: backup.id,
      ip: input.audit.ip ?? null,
      userAgent: input.audit.userAgent ?? null,
      detail: input.audit.detail,
    });
  });
}

/**
 * Makes one backup: database.gz from pg_dump or mysqldump and volume.tgz from
 * the volume folder, both streamed through gzip and SHA-256 into storage at
 * once, then read back and checked. The backup is `completed` only after that
 * check; any failure leaves it `failed` with a reason and nothing in storage.
 */
export async function runCreateBackup(
  deps: BackupEngineDeps,
  job: Pick<Job, "id">,
  payload: CreateBackupPayload,
  context?: Pick<JobContext, "signal">,
): Promise<void> {
  const { db, storage } = deps;
  const found = await getBackup(db, { id: payload.backupId });
  if (!found) throw new PermanentJobError(`backup ${payload.backupId} does not exist`);
  const { environment, files: _files, ...backup } = found;
  if (backup.status === "completed" || backup.status === "failed") return; // a run that finished before its job was recorded

  const ttlMs = deps.lockTtlMs ?? BACKUP_LOCK_TTL_MS;
  const holder = backupLockHolder(job.id, backup.createdBy);
  await holdEnvironmentLock(db, { environment, holder, ttlMs, work: "backup", operation: "backup", backupId: backup.id });

  const log = logger.child({ backupId: backup.id, jobId: job.id, environment: environmentLabel(environment) });
  const abort = new AbortController();
  const stopHeartbeat = keepEnvironmentLock(db, { environment, holder, ttlMs, work: "backup" }, abort, (message) => new LockLostError(message));
  const onJobLost = () => abort.abort(context?.signal?.reason);
  context?.signal?.addEventListener("abort", onJobLost);
  try {
    const started = await db
      .update(backups)
      .set({ status: "running", statusReason: null, progressBytes: 0, startedAt: new Date() })
      .where(and(eq(backups.id, backup.id), inArray(backups.status, ["queued", "running"])))
      .returning();
    if (started.length === 0) return;

    const source = databaseSource(environment);
    const volumeFolder = await confinedVolumeFolder(environment, { roots: deps.volumeRoots });
    const progress = progressReporter(db, backup.id, deps.progressIntervalMs ?? 500);
    const onBytes = (n: number) => progress.add(n);
    const failFast = (error: unknown) => {
      abort.abort(error);
      throw error;
    };
    // Settled, not raced: cleanup must not run while the other file is still being written.
    const [dumpedResult, volumeResult, toolResult] = await Promise.allSettled([
      dumpDatabase(deps, source, backupObjectKey(backup.id, "database"), onBytes, abort.signal).catch(failFast),
      archiveVolume(deps, volumeFolder, backupObjectKey(backup.id, "volume"), onBytes, abort.signal).catch(failFast),
      toolVersion(DUMP_TOOL[source.engine], deps.toolEnv),
    ]);
    // The first failure aborted the other stream; report the one that started it.
    if (abort.signal.aborted) throw abort.signal.reason;
    if (dumpedResult.status === "rejected") throw dumpedResult.reason;
    if (volumeResult.status === "rejected") throw volumeResult.reason;
    const dumped = dumpedResult.value;
    const volume = volumeResult.value;
    const dumpTool = toolResult.status === "fulfilled" ? toolResult.value : null;
    await Promise.all([verifyStoredObject(storage, dumped.object, FILE_NAMES.database), verifyStoredObject(storage, volume, FILE_NAMES.volume)]);
    if (abort.signal.aborted) throw abort.signal.reason;
    await recordCompleted(db, { backup, environment, database: dumped.object, volume, serverVersion: dumped.serverVersion, dumpTool, jobId: job.id });
    log.info({ database: dumped.object.size, volume: volume.size }, "backup completed");
  } catch (error) {
    if (context?.signal?.aborted) {
      // The sweeper gave this job to another run (or failed it): that side now decides the backup's fate.
      log.warn({ err: error }, "backup job lost its lease; leaving the backup to the run that took it over");
      throw error;
    }
    const readable = readableBackupFailure(error);
    const reason = readable ? readable.message : INTERNAL_REASON;
    if (readable) log.warn({ reason }, "backup failed");
    else log.error({ err: error }, "backup failed with an internal error");
    await failBackup({ db, storage }, { backup, environment, reason, jobId: job.id });
    throw new PermanentJobError(reason, { cause: error });
  } finally {
    stopHeartbeat();
    context?.signal?.removeEventListener("abort", onJobLost);
    // A lost job's lock was released by the sweeper, and the run that took the job over may hold it now under the same holder.
    if (!context?.signal?.aborted)
      await releaseEnvironmentLock(db, { environmentId: environment.id, holder }).catch((err: unknown) =>
        log.error({ err }, "could not release the environment lock; it lapses on its own"),
      );
  }
}

export const ABANDONED_BACKUP_REASON = "The Lifeboat server stopped while making this backup, and it was not finished on retry. Try again.";

/** The job handler for the worker: `backup.create` jobs carry `{ backupId }`. */
export function createBackupJobHandler(deps: BackupEngineDeps): JobHandler {
  return {
    async run(job, context) {
      const backupId = (job.payload as Partial<CreateBackupPayload>).backupId;
      if (typeof backupId !== "string") throw new PermanentJobError("a backup.create job without a backupId");
      await runCreateBackup(deps, job, { backupId }, context);
    },
    async onAbandoned(job, { db, final }) {
      const backupId = (job.payload as Partial<CreateBackupPayload>).backupId;
      if (typeof backupId !== "string") return;
      const found = await getBackup(db, { id: backupId });
      if (!found) return;
      if (final) {
        await failBackup({ db, storage: deps.storage }, { backup: found, environment: found.environment, reason: ABANDONED_BACKUP_REASON, jobId: job.id });
        return;
      }
      // It runs again from the start: show it as waiting, not as stuck half way.
      await db
        .update(backups)
        .set({ status: "queued", progressBytes: 0 })
        .where(and(eq(backups.id, backupId), eq(backups.status, "running")));
    },
  };
}
