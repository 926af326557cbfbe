import { randomUUID } from "node:crypto";

import type { Actor } from "@/lib/auth/permissions";
import { auditActorType, canUploadBackup } from "@/lib/auth/permissions";
import type { ExpansionLimits } from "@/lib/backups/verify";
import type { Db } from "@/lib/db/client";
import { recordAuditEvent } from "@/lib/db/queries/audit";
import { getEnvironmentLock } from "@/lib/db/queries/locks";
import type { Environment } from "@/lib/db/schema";
import { AppError } from "@/lib/errors";
import { logger } from "@/lib/logger";
import type { Storage } from "@/lib/storage/types";

import { assertCanTouchUploadSession, assertEnvironmentVisible, environmentLabel } from "./access";
import { checkUploadFiles, STORED_NAME } from "./files";
import type { CreateUploadInput, UploadFileInput } from "./files";
import { choosePartSize, countParts, resolveLimits } from "./limits";
import type { UploadLimits } from "./limits";
import { environmentBusyError } from "./lock-message";
import {
  deleteSessionParts,
  extendOpenSession,
  getBackupVerification,
  getSessionBundle,
  insertUploadSession,
  listOpenSessions,
  setUploadSha256,
  transitionSession,
} from "./store";
import type { FileKind, NewUploadFile, SessionBundle, UploadWithParts } from "./store";
import { toSessionView } from "./view";
import type { UploadSessionView } from "./view";

export interface UploadDeps {
  db: Db;
  storage: Storage;
  limits?: Partial<UploadLimits>;
  /** How far the files may expand when verified; unset: MAX_EXPANDED_SIZE and MAX_EXPANSION_RATIO. */
  expansion?: ExpansionLimits;
}

/** Where a request came from, for the audit log. */
export interface RequestInfo {
  ip?: string | null;
  userAgent?: string | null;
}

const KINDS: FileKind[] = ["database", "volume"];
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function sessionKey(sessionId: string, kind: FileKind): string {
  return `uploads/${sessionId}/${STORED_NAME[kind]}`;
}

/**
 * Same person, same environment, same two files (name and size; and the
 * SHA-256 where both sides know it): picking the same files again after a
 * reload or a server restart lands in the same session. The client re-hashes
 * the parts the server lists and resends any whose SHA-256 differs, so a
 * different file that happens to match still ends up correct.
 */
function matchesFiles(bundle: SessionBundle, input: CreateUploadInput): boolean {
  return KINDS.every((kind) => {
    const upload = bundle.uploads.find((u) => u.kind === kind);
    const file = input[kind];
    if (!upload || upload.fileName !== file.fileName || upload.sizeBytes !== file.size) return false;
    return !(upload.sha256 && file.sha256 && upload.sha256 !== file.sha256.toLowerCase());
  });
}

async function resumeSession(db: Db, bundle: SessionBundle, input: CreateUploadInput, limits: UploadLimits, now: Date): Promise<SessionBundle> {
  for (const upload of bundle.uploads) {
    const sha256 = input[upload.kind].sha256?.toLowerCase();
    if (sha256 && !upload.sha256) await setUploadSha256(db, { uploadId: upload.id, sha256 });
  }
  await extendOpenSession(db, { sessionId: bundle.session.id, expiresAt: new Date(now.getTime() + limits.sessionTtlMs) });
  return (await getSessionBundle(db, { sessionId: bundle.session.id }))!;
}

async function startStorageUploads(storage: Storage, sessionId: string, input: CreateUploadInput, limits: UploadLimits): Promise<NewUploadFile[]> {
  const files: NewUploadFile[] = [];
  try {
    for (const kind of KINDS) {
      const file: UploadFileInput = input[kind];
      const key = sessionKey(sessionId, kind);
      const { uploadId } = await storage.createMultipartUpload(key);
      const partSize = choosePartSize(file.size, limits);
      files.push({
        id: randomUUID(),
        kind,
        fileName: file.fileName,
        sizeBytes: file.size,
        partSize,
        partCount: countParts(file.size, partSize),
        sha256: file.sha256?.toLowerCase() ?? null,
        storageKey: key,
        storageUploadId: uploadId,
      });
    }
  } catch (error) {
    await abortStorageUploads(storage, files);
    throw error;
  }
  return files;
}

/** Best effort: a server without AbortMultipartUpload keeps the parts until its own lifecycle rule clears them. */
export async function abortStorageUploads(storage: Storage, files: readonly { storageKey: string; storageUploadId: string }[]): Promise<void> {
  await Promise.all(
    files.map((file) =>
      storage
        .abortMultipartUpload({ key: file.storageKey, uploadId: file.storageUploadId })
        .catch((err: unknown) => logger.warn({ err, key: file.storageKey }, "could not abort a multipart upload")),
    ),
  );
}

/**
 * Starts an upload of a database file and a volume file into an environment,
 * or resumes the caller's open one for the same files. Refused while the
 * environment is busy with a backup, upload or restore.
 */
export async function createUploadSession(
  deps: UploadDeps & { actor: Actor; environment: Environment; input: CreateUploadInput; now?: Date },
): Promise<{ session: UploadSessionView; resumed: boolean }> {
  const { db, storage, actor, environment, input } = deps;
  const limits = resolveLimits(deps.limits);
  const now = deps.now ?? new Date();
  if (!canUploadBackup(actor, environment)) {
    throw new AppError("forbidden", `Only administrators of ${environmentLabel(environment)} may upload backups to it.`);
  }
  checkUploadFiles(input, limits);

  const lock = await getEnvironmentLock(db, { environmentId: environment.id });
  if (lock) throw await environmentBusyError(db, environment, lock);

  const candidates = await listOpenSessions(db, { environmentId: environment.id, createdBy: actor.email, now });
  const existing = candidates.find((bundle) => matchesFiles(bundle, input));
  if (existing) {
    const bundle = await resumeSession(db, existing, input, limits, now);
    return { session: toSessionView(bundle, limits), resumed: true };
  }

  const sessionId = randomUUID();
  const files = await startStorageUploads(storage, sessionId, input, limits);
  try {
    await insertUploadSession(db, {
      id: sessionId,
      environmentId: environment.id,
      createdBy: actor.email,
      expiresAt: new Date(now.getTime() + limits.sessionTtlMs),
      files,
    });
  } catch (error) {
    await abortStorageUploads(storage, files);
    throw error;
  }
  const bundle = (await getSessionBundle(db, { sessionId }))!;
  return { session: toSessionView(bundle, limits), resumed: false };
}

/** A session the actor may see and touch, with its files and their parts. */
export async function loadSessionForActor(
  db: Db,
  { actor, sessionId, productionOnly }: { actor: Actor; sessionId: string; productionOnly: boolean },
): Promise<SessionBundle> {
  const bundle = UUID.test(sessionId) ? await getSessionBundle(db, { sessionId }) : undefined;
  if (!bundle) throw new AppError("not_found", "No such upload.");
  assertEnvironmentVisible(actor, bundle.environment, { productionOnly });
  assertCanTouchUploadSession(actor, bundle.environment, bundle.session);
  return bundle;
}

export async function getUploadSession(
  deps: Pick<UploadDeps, "db" | "limits"> & { actor: Actor; sessionId: string; productionOnly: boolean },
): Promise<UploadSessionView> {
  const bundle = await loadSessionForActor(deps.db, deps);
  const { backupId } = bundle.session;
  const verification = backupId ? ((await getBackupVerification(deps.db, { backupId })) ?? null) : null;
  return toSessionView(bundle, resolveLimits(deps.limits), verification);
}

/** The sentence a person sees for a session that can no longer take parts or be completed. */
export function closedSessionError(bundle: SessionBundle, now: Date): AppError | null {
  const { session } = bundle;
  switch (session.status) {
    case "open":
      if (session.expiresAt.getTime() > now.getTime()) return null;
      return new AppError("gone", "This upload expired after a day without activity; its parts were deleted. Start the upload again.");
    case "completing":
      return new AppError("conflict", "This upload is complete and its files are being verified; it takes no more parts.");
    case "completed":
      return new AppError("conflict", `This upload already became backup ${session.backupId ?? "(deleted since)"}.`);
    case "aborted":
      return new AppError("gone", "This upload was cancelled; its parts were deleted. Start the upload again.");
    case "expired":
      return new AppError("gone", "This upload expired after a day without activity; its parts were deleted. Start the upload again.");
    case "failed":
      return new AppError("gone", `This upload failed: ${session.statusReason ?? "see the activity log"}. Start the upload again.`);
  }
}

/** Everything a session stored goes: multipart parts, finished objects, part rows. */
export async function discardSessionData(
  deps: { db: Db; storage: Storage },
  uploads: readonly UploadWithParts[] | readonly { storageKey: string; storageUploadId: string }[],
  sessionId: string,
): Promise<void> {
  await abortStorageUploads(deps.storage, uploads);
  await Promise.all(
    uploads.map((upload) =>
      deps.storage.deleteObject(upload.storageKey).catch((err: unknown) => logger.warn({ err, key: upload.storageKey }, "could not delete an uploaded object")),
    ),
  );
  await deleteSessionParts(deps.db, { sessionId });
}

/**
 * Cancels an open upload and frees its parts. Cancelling one that already
 * ended without a backup is a no-op; one being verified or already a backup
 * cannot be cancelled.
 */
export async function abortUploadSession(
  deps: UploadDeps & { actor: Actor; sessionId: string; productionOnly: boolean; request?: RequestInfo },
): Promise<void> {
  const { db, actor } = deps;
  const bundle = await loadSessionForActor(db, deps);
  const { session, environment } = bundle;
  if (session.status === "completing") {
    throw new AppError("conflict", "This upload's files are being verified; it cannot be cancelled now. Its result appears shortly.");
  }
  if (session.status === "completed") {
    throw new AppError("conflict", `This upload already became backup ${session.backupId ?? "(deleted since)"}; delete the backup instead.`);
  }
  if (session.status !== "open") return;
  const moved = await transitionSession(db, { sessionId: session.id, from: ["open"], to: "aborted", reason: `Cancelled by ${actor.email}.` });
  // Its status changed under us (a completion or the expiry sweep got there first): answer for the new one.
  if (!moved) return abortUploadSession(deps);
  await discardSessionData(deps, bundle.uploads, session.id);
  await recordAuditEvent(db, {
    actor: actor.email,
    actorType: auditActorType(actor),
    action: "backup.upload_aborted",
    projectId: environment.projectId,
    environmentId: environment.id,
    ip: deps.request?.ip ?? null,
    userAgent: deps.request?.userAgent ?? null,
    detail: { sessionId: session.id, files: bundle.uploads.map((u) => ({ kind: u.kind, fileName: u.fileName, size: u.sizeBytes })) },
  });
}
