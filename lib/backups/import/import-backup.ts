import { and, eq, inArray } from "drizzle-orm";

import { auditActorType, canUploadBackup } from "@/lib/auth/permissions";
import type { Actor } from "@/lib/auth/permissions";
import { BACKUP_LOCK_TTL_MS, backupObjectKey, completeRunningBackup, failBackup, FILE_NAMES, progressReporter } from "@/lib/backups/engine/create-backup";
import { queueBackupJob } from "@/lib/backups/engine/request";
import type { StoredObject } from "@/lib/backups/engine/stream-to-storage";
import { isVerificationError } from "@/lib/backups/verify";
import type { ExpansionLimits } from "@/lib/backups/verify";
import { decryptSecret, encryptSecret, SecretError } from "@/lib/crypto/secrets";
import type { Db } from "@/lib/db/client";
import { getBackup } from "@/lib/db/queries/backups";
import type { BackupWithFiles } from "@/lib/db/queries/backups";
import { releaseEnvironmentLock } from "@/lib/db/queries/locks";
import { backups } from "@/lib/db/schema";
import type { Backup, BackupManifest, Environment, Job } from "@/lib/db/schema";
import { getConfig } from "@/lib/config";
import { AppError } from "@/lib/errors";
import { holdEnvironmentLock, keepEnvironmentLock } from "@/lib/jobs/environment-lease";
import { jobLockHolder } from "@/lib/jobs/queue";
import { PermanentJobError } from "@/lib/jobs/worker";
import type { JobContext, JobHandler } from "@/lib/jobs/worker";
import { logger } from "@/lib/logger";
import type { Storage } from "@/lib/storage/types";
import { environmentLabel } from "@/lib/uploads/access";
import { describeVerifiedBackup, verifyStoredFiles } from "@/lib/uploads/backup-from-files";
import type { StoredUploadFiles } from "@/lib/uploads/backup-from-files";
import { DEFAULT_UPLOAD_LIMITS } from "@/lib/uploads/limits";
import type { RequestInfo } from "@/lib/uploads/sessions";
import type { FileKind } from "@/lib/uploads/store";

import { NOT_PUBLIC, obviouslyInternalHost, PRIVATE_NETWORKS_ADVICE } from "./address-guard";
import { fetchToStorage, ImportError, isImportError } from "./fetch-to-storage";
import type { FetchLimits } from "./fetch-to-storage";
import { isFetchableUrl, redactUrl, urlFileName } from "./remote-url";

/*
 * Import an external backup (the Cloud 66 seed's `remote_url`): the request
 * queues it and takes the environment like an upload would; a job on the
 * durable queue streams both URLs into storage, verifies them exactly as
 * uploaded files are verified (lib/uploads/backup-from-files.ts), and
 * completes the backup — or fails it with a reason and keeps nothing.
 */

export const IMPORT_QUEUE = "backup.import";

export interface ImportBackupInput {
  /** The database dump, gzip'd (database.gz). */
  remoteUrl: string;
  /** The document library, a gzip'd tar (volume.tgz). */
  volumeUrl: string;
  name?: string;
  description?: string;
}

export interface ImportPayload {
  backupId: string;
  /** Redacted, for whoever reads the jobs table. */
  remoteUrl: string;
  volumeUrl: string;
  /** The URLs as given, encrypted with the server secret: pre-signed URLs and user:password are credentials. */
  sources: string;
  request: { ip: string | null; userAgent: string | null; tokenId: string | null };
}

export interface ImportDeps {
  db: Db;
  storage: Storage;
  limits?: Partial<FetchLimits>;
  /** Fetch from loopback, private and other internal addresses too; undefined: IMPORT_ALLOW_PRIVATE_NETWORKS. */
  allowPrivateNetworks?: boolean;
  /** How far the files may expand when verified; unset: MAX_EXPANDED_SIZE and MAX_EXPANSION_RATIO. */
  expansion?: ExpansionLimits;
  /** Environment lock lease; renewed every quarter of it while the import runs. */
  lockTtlMs?: number;
  progressIntervalMs?: number;
}

/**
 * Why these: an import is an upload pulled instead of pushed, so the same
 * 1 TiB per file; a server that does not start answering in 30 s or
 * stalls for 2 minutes mid-file is not going to finish; five redirects
 * cover a download page → CDN → signed object.
 */
export const DEFAULT_IMPORT_LIMITS: FetchLimits = {
  maxBytes: DEFAULT_UPLOAD_LIMITS.maxFileSize,
  responseTimeoutMs: 30_000,
  idleTimeoutMs: 120_000,
  maxRedirects: 5,
};

const INTERNAL_REASON = "Lifeboat could not finish this import because of an internal error (it has been logged). Try again.";
export const ABANDONED_IMPORT_REASON = "The Lifeboat server stopped while importing this backup, and it was not finished on retry. Try again.";

/**
 * `POST …/backups/import`: checked, then queued. The environment lock is
 * taken here (409 at once while a backup, upload or restore runs), and the
 * job takes it over when it starts, as for a manual backup.
 */
export async function requestImport({
  db,
  actor,
  environment,
  input,
  request,
  allowPrivateNetworks,
}: {
  db: Db;
  actor: Actor;
  environment: Environment;
  input: ImportBackupInput;
  request?: RequestInfo;
  /** undefined: IMPORT_ALLOW_PRIVATE_NETWORKS from the configuration. */
  allowPrivateNetworks?: boolean;
}): Promise<BackupWithFiles> {
  if (!canUploadBackup(actor, environment)) {
    throw new AppError("forbidden", `Only administrators of ${environmentLabel(environment)} may import backups into it.`);
  }
  for (const [field, value] of [
    ["remote_url", input.remoteUrl],
    ["volume_url", input.volumeUrl],
  ] as const) {
    if (!isFetchableUrl(value)) throw new AppError("bad_request", `${field} must be an http:// or https:// URL.`);
    // What is internal without asking DNS is refused now; names are checked by the job as it connects, every redirect included.
    const internal = obviouslyInternalHost(new URL(value));
    if (internal && !(allowPrivateNetworks ?? getConfig().importAllowPrivateNetworks)) {
      throw new AppError("bad_request", `${field} points to ${NOT_PUBLIC} (${internal}), which Lifeboat does not fetch from. ${PRIVATE_NETWORKS_ADVICE}`);
    }
  }

  return queueBackupJob({
    db,
    actor,
    environment,
    backup: { name: input.name, description: input.description, origin: "imported", createdByType: auditActorType(actor) },
    // One attempt more than the first run: a server that dies mid-import gets one retry from the start.
    job: {
      queue: IMPORT_QUEUE,
      maxAttempts: 2,
      payload: (backupId): ImportPayload => ({
        backupId,
        remoteUrl: redactUrl(input.remoteUrl),
        volumeUrl: redactUrl(input.volumeUrl),
        sources: encryptSecret(JSON.stringify({ remoteUrl: input.remoteUrl, volumeUrl: input.volumeUrl })),
        request: { ip: request?.ip ?? null, userAgent: request?.userAgent ?? null, tokenId: actor.tokenId ?? null },
      }),
    },
  });
}

/** Marks an import failed (unless it already finished), deletes what it stored, and audits why (the URLs redacted). */
export async function failImport(
  deps: { db: Db; storage: Storage },
  input: {
    backup: Pick<Backup, "id" | "createdBy" | "createdByType">;
    environment: Environment;
    reason: string;
    payload?: Partial<ImportPayload>;
    jobId?: string;
  },
): Promise<boolean> {
  const request = input.payload?.request;
  return failBackup(deps, {
    backup: input.backup,
    environment: input.environment,
    reason: input.reason,
    jobId: input.jobId,
    action: "backup.import_failed",
    request,
    detail: {
      source: { remote_url: input.payload?.remoteUrl ?? null, volume_url: input.payload?.volumeUrl ?? null },
      ...(request?.tokenId ? { tokenId: request.tokenId } : {}),
    },
  });
}

class LockLostError extends ImportError {}

function readSources(payload: ImportPayload): { remoteUrl: string; volumeUrl: string } {
  try {
    const parsed = JSON.parse(decryptSecret(payload.sources)) as { remoteUrl?: unknown; volumeUrl?: unknown };
    if (typeof parsed.remoteUrl !== "string" || typeof parsed.volumeUrl !== "string") throw new SecretError("The import's URLs are incomplete.");
    return { remoteUrl: parsed.remoteUrl, volumeUrl: parsed.volumeUrl };
  } catch (error) {
    if (error instanceof SecretError) throw new ImportError(`The import's URLs cannot be read back: ${error.message} Import again.`);
    throw error;
  }
}

async function recordImported(
  db: Db,
  input: {
    backup: Backup;
    environment: Environment;
    files: StoredUploadFiles;
    verified: Awaited<ReturnType<typeof verifyStoredFiles>>;
    payload: ImportPayload;
    jobId: string;
  },
): Promise<void> {
  const { backup, environment, payload } = input;
  const completedAt = new Date();
  const record = describeVerifiedBackup({
    backupId: backup.id,
    environment,
    files: input.files,
    verified: input.verified,
    createdBy: backup.createdBy,
    origin: "imported",
    completedAt,
  });
  // Where it came from, redacted: BackupManifest has no field for it, and the manifest is the backup's own record.
  const manifest: BackupManifest & { source: { remoteUrl: string; volumeUrl: string } } = {
    ...record.manifest,
    source: { remoteUrl: payload.remoteUrl, volumeUrl: payload.volumeUrl },
  };
  await completeRunningBackup(db, {
    backup,
    environment,
    files: record.rows.map((f) => ({ kind: f.kind, name: f.name, size: f.size, sha256: f.sha256, storageKey: f.storageKey })),
    verify: record.verify,
    dbEngine: record.engine,
    manifest,
    completedAt,
    audit: {
      action: "backup.import",
      ip: payload.request?.ip ?? null,
      userAgent: payload.request?.userAgent ?? null,
      detail: {
        jobId: input.jobId,
        source: { remote_url: payload.remoteUrl, volume_url: payload.volumeUrl },
        verifyStatus: record.verify.status,
        files: record.manifest.files,
        ...(payload.request?.tokenId ? { tokenId: payload.request.tokenId } : {}),
      },
    },
  });
}

/**
 * Runs one import: both URLs streamed into storage at once (SHA-256 on the
 * way), then both files verified as an upload's are, then the backup
 * completed. Any failure leaves it `failed` with a reason and nothing stored.
 */
export async function runImport(deps: ImportDeps, job: Pick<Job, "id">, payload: ImportPayload, context?: Pick<JobContext, "signal">): Promise<void> {
  const { db, storage } = deps;
  const limits = { ...DEFAULT_IMPORT_LIMITS, ...deps.limits };
  const policy = { allowPrivateNetworks: deps.allowPrivateNetworks ?? getConfig().importAllowPrivateNetworks };
  const found = await getBackup(db, { id: payload.backupId });
  if (!found) throw new PermanentJobError(`backup ${payload.backupId} does not exist`);
  const { environment, files: _files, ...backup } = found;
  if (backup.status === "completed" || backup.status === "failed") return; // a run that finished before its job was recorded

  const ttlMs = deps.lockTtlMs ?? BACKUP_LOCK_TTL_MS;
  const holder = jobLockHolder(job.id, backup.createdBy);
  await holdEnvironmentLock(db, { environment, holder, ttlMs, work: "import", operation: "backup", backupId: backup.id });

  const log = logger.child({
    backupId: backup.id,
    jobId: job.id,
    environment: environmentLabel(environment),
    remoteUrl: payload.remoteUrl,
    volumeUrl: payload.volumeUrl,
  });
  const abort = new AbortController();
  const stopHeartbeat = keepEnvironmentLock(db, { environment, holder, ttlMs, work: "import" }, abort, (message) => new LockLostError(message));
  const onJobLost = () => abort.abort(context?.signal?.reason);
  context?.signal?.addEventListener("abort", onJobLost);
  try {
    const started = await db
      .update(backups)
      .set({ status: "running", statusReason: null, progressBytes: 0, totalBytes: null, startedAt: new Date() })
      .where(and(eq(backups.id, backup.id), inArray(backups.status, ["queued", "running"])))
      .returning();
    if (started.length === 0) return;

    const sources = readSources(payload);
    const progress = progressReporter(db, backup.id, deps.progressIntervalMs ?? 500);
    const lengths: Partial<Record<FileKind, number | null>> = {};
    const onLength = (kind: FileKind) => (length: number | null) => {
      lengths[kind] = length;
      const { database, volume } = lengths;
      if (typeof database === "number" && typeof volume === "number") {
        db.update(backups)
          .set({ totalBytes: database + volume })
          .where(and(eq(backups.id, backup.id), eq(backups.status, "running")))
          .catch((err: unknown) => log.warn({ err }, "could not record the import's total size"));
      }
    };
    const failFast = (error: unknown) => {
      abort.abort(error);
      throw error;
    };
    const fetchOne = (kind: FileKind, url: string, label: string): Promise<StoredObject> =>
      fetchToStorage({
        storage,
        key: backupObjectKey(backup.id, kind),
        url,
        label,
        limits,
        policy,
        onBytes: (n) => progress.add(n),
        onLength: onLength(kind),
        signal: abort.signal,
      }).catch(failFast);
    // Settled, not raced: cleanup must not run while the other file is still being written.
    const [database, volume] = await Promise.allSettled([
      fetchOne("database", sources.remoteUrl, "remote_url"),
      fetchOne("volume", sources.volumeUrl, "volume_url"),
    ]);
    if (abort.signal.aborted) throw abort.signal.reason;
    if (database.status === "rejected") throw database.reason;
    if (volume.status === "rejected") throw volume.reason;

    const files: StoredUploadFiles = {
      database: {
        kind: "database",
        fileName: urlFileName(sources.remoteUrl) ?? FILE_NAMES.database,
        sizeBytes: database.value.size,
        storageKey: database.value.key,
      },
      volume: { kind: "volume", fileName: urlFileName(sources.volumeUrl) ?? FILE_NAMES.volume, sizeBytes: volume.value.size, storageKey: volume.value.key },
    };
    // Read back from storage and checked exactly like an upload: the SHA-256 computed on the way in must match.
    const verified = await verifyStoredFiles({
      storage,
      environment,
      files,
      hashes: { database: database.value.sha256, volume: volume.value.sha256 },
      expansion: deps.expansion ?? getConfig().expansion,
      signal: abort.signal,
    });
    if (abort.signal.aborted) throw abort.signal.reason;
    await recordImported(db, { backup, environment, files, verified, payload, jobId: job.id });
    log.info({ database: database.value.size, volume: volume.value.size }, "backup imported");
  } catch (error) {
    if (context?.signal?.aborted) {
      // The sweeper gave this job to another run (or failed it): that side now decides the backup's fate.
      log.warn({ err: error }, "import job lost its lease; leaving the backup to the run that took it over");
      throw error;
    }
    const readable = isImportError(error) || isVerificationError(error);
    const reason = readable ? error.message : INTERNAL_REASON;
    if (readable) log.warn({ reason }, "import failed");
    else log.error({ err: error }, "import failed with an internal error");
    await failImport({ db, storage }, { backup, environment, reason, payload, jobId: job.id });
    throw new PermanentJobError(reason, { cause: error });
  } finally {
    stopHeartbeat();
    context?.signal?.removeEventListener("abort", onJobLost);
    // A lost job's lock was released by the sweeper, and the run that took the job over may hold it now under the same holder.
    if (!context?.signal?.aborted) {
      await releaseEnvironmentLock(db, { environmentId: environment.id, holder }).catch((err: unknown) =>
        log.error({ err }, "could not release the environment lock; it lapses on its own"),
      );
    }
  }
}

function payloadOf(job: Job): ImportPayload | null {
  const payload = job.payload as Partial<ImportPayload>;
  if (typeof payload.backupId !== "string" || typeof payload.sources !== "string") return null;
  return {
    backupId: payload.backupId,
    remoteUrl: payload.remoteUrl ?? "",
    volumeUrl: payload.volumeUrl ?? "",
    sources: payload.sources,
    request: payload.request ?? { ip: null, userAgent: null, tokenId: null },
  };
}

/** The job handler for the worker and the sweeper: `backup.import` jobs carry an ImportPayload. */
export function createImportJobHandler(deps: ImportDeps): JobHandler {
  return {
    async run(job, context) {
      const payload = payloadOf(job);
      if (!payload) throw new PermanentJobError("a backup.import job without a backupId or sources");
      await runImport(deps, job, payload, context);
    },
    async onAbandoned(job, { db, final }) {
      const payload = payloadOf(job);
      if (!payload) return;
      const found = await getBackup(db, { id: payload.backupId });
      if (!found) return;
      if (final) {
        await failImport(
          { db, storage: deps.storage },
          { backup: found, environment: found.environment, reason: ABANDONED_IMPORT_REASON, payload, jobId: job.id },
        );
        return;
      }
      // It runs again from the start: show it as waiting, not as stuck half way.
      await db
        .update(backups)
        .set({ status: "queued", progressBytes: 0 })
        .where(and(eq(backups.id, payload.backupId), eq(backups.status, "running")));
    },
  };
}
