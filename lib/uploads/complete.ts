import { randomUUID } from "node:crypto";
import { auditActorType } from "@/lib/auth/permissions";
import type { Actor } from "@/lib/auth/permissions";
import { isVerificationError, VerificationError } from "@/lib/backups/verify";
import type { ExpansionLimits } from "@/lib/backups/verify";
import { getConfig } from "@/lib/config";
import type { Db } from "@/lib/db/client";
import { recordAuditEvent } from "@/lib/db/queries/audit";
import { acquireEnvironmentLock, releaseEnvironmentLock, renewEnvironmentLock } from "@/lib/db/queries/locks";
import type { Environment } from "@/lib/db/schema";
import { AppError } from "@/lib/errors";
import { logger } from "@/lib/logger";
import { isStorageError } from "@/lib/storage/errors";
import type { Storage } from "@/lib/storage/types";

import { environmentLabel } from "./access";
import { recordUploadedBackup, verifyStoredFiles } from "./backup-from-files";
import type { StoredUploadFiles, VerifiedFiles } from "./backup-from-files";
import { SHA256_HEX } from "./files";
import { resolveLimits } from "./limits";
import type { UploadLimits } from "./limits";
import { environmentBusyError, uploadLockHolder } from "./lock-message";
import { closedSessionError, discardSessionData, loadSessionForActor } from "./sessions";
import type { RequestInfo, UploadDeps } from "./sessions";
import { getSessionBundle, setUploadSha256, transitionSession } from "./store";
import type { FileKind, SessionBundle, UploadWithParts } from "./store";
import { toSessionView } from "./view";
import type { UploadSessionView } from "./view";

export interface CompleteUploadInput {
  database: { sha256: string };
  volume: { sha256: string };
}

export type CompletionOutcome = { status: "completed"; backupId: string } | { status: "failed"; reason: string };

/** "3, 7–9, 12", at most `max` runs. */
function describeParts(numbers: number[], max = 10): string {
  const runs: string[] = [];
  for (let i = 0; i < numbers.length;) {
    let j = i;
    while (j + 1 < numbers.length && numbers[j + 1] === numbers[j]! + 1) j++;
    runs.push(i === j ? `${numbers[i]}` : `${numbers[i]}–${numbers[j]}`);
    i = j + 1;
  }
  return runs.length > max ? `${runs.slice(0, max).join(", ")} and more` : runs.join(", ");
}

function missingParts(upload: UploadWithParts): number[] {
  const have = new Set(upload.parts.map((p) => p.partNumber));
  const missing: number[] = [];
  for (let n = 1; n <= upload.partCount; n++) if (!have.has(n)) missing.push(n);
  return missing;
}

function assertAllPartsPresent(bundle: SessionBundle): void {
  const gaps = bundle.uploads.map((upload) => ({ upload, missing: missingParts(upload) })).filter((g) => g.missing.length > 0);
  if (gaps.length === 0) return;
  throw new AppError(
    "conflict",
    gaps
      .map(
        ({ upload, missing }) => `${upload.fileName} is missing ${missing.length === 1 ? "part" : "parts"} ${describeParts(missing)} (of ${upload.partCount})`,
      )
      .join("; ") + ". Send them, then complete the upload.",
    { missingParts: Object.fromEntries(gaps.map(({ upload, missing }) => [upload.kind, missing])) },
  );
}

function checkClientHashes(bundle: SessionBundle, input: CompleteUploadInput): Record<FileKind, string> {
  const hashes = {} as Record<FileKind, string>;
  for (const upload of bundle.uploads) {
    const sha256 = input[upload.kind]?.sha256?.toLowerCase();
    if (!sha256 || !SHA256_HEX.test(sha256)) {
      throw new AppError("bad_request", `Send the SHA-256 of ${upload.fileName} (64 hexadecimal characters) to complete the upload.`);
    }
    if (upload.sha256 && upload.sha256 !== sha256) {
      throw new AppError(
        "unprocessable",
        `The SHA-256 of ${upload.fileName} sent now (${sha256}) differs from the one sent when the upload started (${upload.sha256}): the file changed. Start the upload again.`,
      );
    }
    hashes[upload.kind] = sha256;
  }
  return hashes;
}

/**
 * Finishes an upload: every part must be there; then the environment lock is
 * taken (409 if a backup, upload or restore holds it), the session becomes
 * `completing` and the backup is generated in the background (the caller
 * polls the session). `completion` settles when that is done and never
 * rejects; route handlers ignore it, tests await it.
 */
export async function completeUploadSession(
  deps: UploadDeps & {
    actor: Actor;
    sessionId: string;
    input: CompleteUploadInput;
    productionOnly: boolean;
    request?: RequestInfo;
    now?: Date;
  },
): Promise<{ session: UploadSessionView; completion: Promise<CompletionOutcome> }> {
  const { db, actor } = deps;
  const limits = resolveLimits(deps.limits);
  const bundle = await loadSessionForActor(db, deps);
  const closed = closedSessionError(bundle, deps.now ?? new Date());
  if (closed) throw closed;
  assertAllPartsPresent(bundle);
  const hashes = checkClientHashes(bundle, deps.input);

  const { session, environment } = bundle;
  const holder = uploadLockHolder(session.id, randomUUID());
  const lock = await acquireEnvironmentLock(db, { environmentId: environment.id, operation: "upload", holder, ttlMs: limits.lockTtlMs });
  if (!lock.acquired) throw await environmentBusyError(db, environment, lock.heldBy);

  let started = false;
  let current: SessionBundle;
  try {
    started = await transitionSession(db, { sessionId: session.id, from: ["open"], to: "completing", reason: null });
    if (!started) {
      const now = await loadSessionForActor(db, deps);
      throw closedSessionError(now, new Date()) ?? new AppError("conflict", "This upload changed while completing it; try again.");
    }
    for (const upload of bundle.uploads) await setUploadSha256(db, { uploadId: upload.id, sha256: hashes[upload.kind] });
    current = (await getSessionBundle(db, { sessionId: session.id }))!;
  } catch (error) {
    // Nothing has started yet: hand the session and the environment back as they were.
    if (started) await transitionSession(db, { sessionId: session.id, from: ["completing"], to: "open" }).catch(() => undefined);
    await releaseEnvironmentLock(db, { environmentId: environment.id, holder });
    throw error;
  }
  const expansion = deps.expansion ?? getConfig().expansion;
  const completion = generateBackupFromUpload({
    db,
    storage: deps.storage,
    limits,
    expansion,
    bundle: current,
    actor,
    holder,
    hashes,
    request: deps.request,
  }).catch((err: unknown): CompletionOutcome => {
    logger.error({ err, sessionId: session.id }, "upload completion failed and could not clean up");
    return { status: "failed", reason: "Lifeboat could not finish this upload because of an internal error (it has been logged)." };
  });
  return { session: toSessionView(current, limits), completion };
}

interface GenerateContext {
  db: Db;
  storage: Storage;
  limits: UploadLimits;
  expansion: ExpansionLimits;
  bundle: SessionBundle;
  actor: Actor;
  holder: string;
  hashes: Record<FileKind, string>;
  request?: RequestInfo;
}

class LockLostError extends Error {
  constructor(environment: Environment) {
    super(`${environmentLabel(environment)} was taken over by another operation while this upload was verified (the lock lapsed). Upload again.`);
  }
}

/** Renews the lock while work goes on; a lock taken over by someone else aborts the work. */
function keepLock(ctx: GenerateContext, abort: AbortController): () => void {
  const { db, holder, limits } = ctx;
  const environmentId = ctx.bundle.environment.id;
  const timer = setInterval(
    () => {
      renewEnvironmentLock(db, { environmentId, holder, ttlMs: limits.lockTtlMs })
        .then((held) => {
          if (!held) abort.abort(new LockLostError(ctx.bundle.environment));
        })
        // A failed renewal is retried on the next beat; the lease outlasts several.
        .catch((err: unknown) => logger.warn({ err, environmentId }, "could not renew the environment lock"));
    },
    Math.max(1000, limits.lockTtlMs / 4),
  );
  timer.unref();
  return () => clearInterval(timer);
}

/** Turns the parts into one object, using our own part list (never a storage listing). */
async function assemble(storage: Storage, upload: UploadWithParts): Promise<void> {
  let info;
  try {
    info = await storage.completeMultipartUpload({
      key: upload.storageKey,
      uploadId: upload.storageUploadId,
      parts: upload.parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag })),
    });
  } catch (error) {
    if (isStorageError(error, "part_mismatch")) {
      throw new VerificationError(
        upload.fileName,
        `${upload.fileName} could not be assembled: a stored part no longer matches the part recorded for it (it was sent again while completing).`,
        { cause: error },
      );
    }
    if (isStorageError(error, "upload_not_found")) {
      throw new VerificationError(upload.fileName, `${upload.fileName} could not be assembled: its parts are no longer in storage.`, { cause: error });
    }
    throw error;
  }
  if (info.size !== upload.sizeBytes) {
    throw new VerificationError(upload.fileName, `${upload.fileName} is ${info.size} bytes once assembled, but ${upload.sizeBytes} were announced.`);
  }
}

function storedFiles(bundle: SessionBundle): StoredUploadFiles {
  const byKind = (kind: FileKind) => bundle.uploads.find((u) => u.kind === kind)!;
  return { database: byKind("database"), volume: byKind("volume") };
}

/** The backup, its files, the session's outcome and the audit line: all or nothing. */
async function recordBackup(ctx: GenerateContext, verified: VerifiedFiles, startedAt: Date): Promise<string> {
  const { bundle } = ctx;
  const { session } = bundle;
  const { backupId } = await recordUploadedBackup({
    db: ctx.db,
    environment: bundle.environment,
    files: storedFiles(bundle),
    verified,
    actor: ctx.actor,
    request: ctx.request,
    startedAt,
    detail: { sessionId: session.id },
    within: async (tx, id) => {
      const done = await transitionSession(tx, { sessionId: session.id, from: ["completing"], to: "completed", backupId: id });
      // Someone else decided this session's fate (a sweep that took it for dead): roll the backup back.
      if (!done) throw new Error(`upload session ${session.id} left "completing" while its backup was generated`);
    },
  });
  return backupId;
}

function failureReason(error: unknown, signal: AbortSignal): string {
  if (signal.aborted && signal.reason instanceof LockLostError) return signal.reason.message;
  if (isVerificationError(error)) return error.message;
  return "Lifeboat could not finish this upload because of an internal error (it has been logged). Upload again.";
}

/** A failed generation leaves nothing behind: no backup row, no objects, no parts. */
export async function failUploadSession(
  deps: { db: Db; storage: Storage },
  {
    bundle,
    reason,
    actor,
    request,
  }: { bundle: SessionBundle; reason: string; actor: { email: string; type: "user" | "token" | "system" }; request?: RequestInfo },
): Promise<boolean> {
  const { session, environment } = bundle;
  const moved = await transitionSession(deps.db, { sessionId: session.id, from: ["completing"], to: "failed", reason });
  await discardSessionData(deps, bundle.uploads, session.id);
  if (!moved) return false;
  await recordAuditEvent(deps.db, {
    actor: actor.email,
    actorType: actor.type,
    action: "backup.upload_failed",
    projectId: environment.projectId,
    environmentId: environment.id,
    ip: request?.ip ?? null,
    userAgent: request?.userAgent ?? null,
    detail: { sessionId: session.id, reason, files: bundle.uploads.map((u) => ({ kind: u.kind, fileName: u.fileName, size: u.sizeBytes })) },
  });
  return true;
}

async function generateBackupFromUpload(ctx: GenerateContext): Promise<CompletionOutcome> {
  const { db, bundle } = ctx;
  const startedAt = new Date();
  const abort = new AbortController();
  const stopHeartbeat = keepLock(ctx, abort);
  const log = logger.child({ sessionId: bundle.session.id, environment: environmentLabel(bundle.environment) });
  try {
    await Promise.all(bundle.uploads.map((upload) => assemble(ctx.storage, upload)));
    const verified = await verifyStoredFiles({
      storage: ctx.storage,
      environment: bundle.environment,
      files: storedFiles(bundle),
      hashes: ctx.hashes,
      expansion: ctx.expansion,
      signal: abort.signal,
    });
    if (abort.signal.aborted) throw abort.signal.reason;
    const backupId = await recordBackup(ctx, verified, startedAt);
    log.info({ backupId }, "backup generated from an upload");
    return { status: "completed", backupId };
  } catch (error) {
    const reason = failureReason(error, abort.signal);
    if (isVerificationError(error)) log.warn({ reason }, "an uploaded backup failed verification");
    else log.error({ err: error }, "generating a backup from an upload failed");
    await failUploadSession(ctx, { bundle, reason, actor: { email: ctx.actor.email, type: auditActorType(ctx.actor) }, request: ctx.request });
    return { status: "failed", reason };
  } finally {
    stopHeartbeat();
    await releaseEnvironmentLock(db, { environmentId: bundle.environment.id, holder: ctx.holder }).catch((err: unknown) =>
      log.error({ err }, "could not release the environment lock; it lapses on its own"),
    );
  }
}
