import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Readable } from "node:stream";

import busboy from "busboy";

import { auditActorType, canUploadBackup } from "@/lib/auth/permissions";
import type { Actor } from "@/lib/auth/permissions";
import { isVerificationError } from "@/lib/backups/verify";
import type { ExpansionLimits } from "@/lib/backups/verify";
import { getConfig } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import type { Db } from "@/lib/db/client";
import { recordAuditEvent } from "@/lib/db/queries/audit";
import { acquireEnvironmentLock, getEnvironmentLock, releaseEnvironmentLock, renewEnvironmentLock } from "@/lib/db/queries/locks";
import type { Environment } from "@/lib/db/schema";
import { AppError } from "@/lib/errors";
import { callerOfNodeRequest, resolveActor } from "@/lib/http/actor";
import { nodeRequestInfo } from "@/lib/http/client-address";
import { sendJson } from "@/lib/http/node-router";
import type { NodeHandler } from "@/lib/http/node-router";
import { logger } from "@/lib/logger";
import { countUploadedBytes } from "@/lib/metrics/registry";
import { getStorage } from "@/lib/storage/instance";
import type { Storage } from "@/lib/storage/types";
import { environmentLabel } from "@/lib/uploads/access";
import { recordUploadedBackup, verifyStoredFiles } from "@/lib/uploads/backup-from-files";
import type { StoredUploadFile, StoredUploadFiles } from "@/lib/uploads/backup-from-files";
import { DigestStream } from "@/lib/uploads/digest";
import { FILE_RULES, STORED_NAME } from "@/lib/uploads/files";
import { DEFAULT_UPLOAD_LIMITS, MiB } from "@/lib/uploads/limits";
import { environmentBusyError, uploadLockHolder } from "@/lib/uploads/lock-message";
import type { RequestInfo } from "@/lib/uploads/sessions";
import type { FileKind } from "@/lib/uploads/store";

import { resolveUploadEnvironment } from "./environment";

const KINDS: readonly FileKind[] = ["database", "volume"];

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function isFileKind(name: string): name is FileKind {
  return (KINDS as readonly string[]).includes(name);
}

/** The upload's two objects; the backup keeps these keys, as the resumable protocol's backups keep theirs. */
function storageKey(uploadId: string, kind: FileKind): string {
  return `uploads/${uploadId}/${STORED_NAME[kind]}`;
}

function checkFileName(kind: FileKind, fileName: string): void {
  const rule = FILE_RULES[kind];
  if (!fileName || fileName.length > 255) {
    throw new AppError("bad_request", `The ${kind} field must be a file with a name (curl -F '${kind}=@/my-folder/${STORED_NAME[kind]}').`);
  }
  if (kind === "database" && /\.(tgz|tar\.gz|tar)$/i.test(fileName)) {
    // The older Liferay page shows `-F 'database=@…/database.tgz'`: a tar around the dump. Lifeboat restores the dump itself.
    throw new AppError(
      "bad_request",
      `${fileName} cannot be the database file: send the gzip'd SQL dump itself, database.gz (mysqldump … | gzip -c > database.gz, or pg_dump … | gzip), not a .tgz/.tar archive of it.`,
    );
  }
  if (!rule.accepts(fileName)) {
    throw new AppError("bad_request", `${fileName} cannot be the ${kind} file: it must be ${rule.expected}.`);
  }
}

interface Received extends StoredUploadFile {
  sha256: string;
}

/**
 * Streams the multipart body's two files straight into storage, hashing
 * them on the way: memory use does not depend on their size. Rejects with an
 * AppError for anything the sender can fix; whatever was stored by then is
 * deleted. Files arrive one after the other in a multipart body, so at most
 * one write is in flight.
 */
function receiveFiles(req: IncomingMessage, storage: Storage, uploadId: string, maxFileSize: number): Promise<Partial<Record<FileKind, Received>>> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { fileSize: maxFileSize, files: 2, fields: 20, parts: 22, fieldSize: 64 * 1024 } });
    } catch (error) {
      reject(new AppError("bad_request", `The body must be multipart/form-data with the files database and volume (curl -F): ${(error as Error).message}.`));
      return;
    }
    const received: Partial<Record<FileKind, Received>> = {};
    const writes: Promise<unknown>[] = [];
    const open = new Set<Readable>();
    const writing = new Set<DigestStream>();
    let failed = false;

    const fail = (error: unknown) => {
      if (failed) return;
      failed = true;
      req.unpipe(parser);
      // A file cut off mid-way (client gone, limit hit) never ends by itself: end its write so the driver discards it.
      for (const digest of writing) digest.destroy(error instanceof Error ? error : new Error(String(error)));
      for (const stream of open) stream.resume(); // busboy waits for each file to be consumed
      // Keep reading (and dropping) the rest, so the client gets our answer rather than a reset while it sends.
      req.resume();
      void Promise.allSettled(writes)
        .then(() => deleteStored(storage, uploadId))
        .finally(() => reject(error));
    };

    parser.on("file", (name, stream, info) => {
      if (failed) return void stream.resume();
      if (!isFileKind(name)) {
        stream.resume();
        return fail(new AppError("bad_request", `Unexpected field "${name.slice(0, 100)}": send the files database and volume.`));
      }
      if (received[name] || writes.length >= 2) {
        stream.resume();
        return fail(new AppError("bad_request", `The ${name} field was sent twice; send each file once.`));
      }
      // busboy omits the name when a part has none; curl -F 'x=@file' always sends one.
      const fileName = info.filename ?? "";
      try {
        checkFileName(name, fileName);
      } catch (error) {
        stream.resume();
        return fail(error);
      }
      const key = storageKey(uploadId, name);
      const digest = new DigestStream();
      // The driver may attach its own listeners only after an await; its rejection reports the failure.
      digest.on("error", () => undefined);
      open.add(stream);
      stream.on("limit", () => {
        const limitTiB = (maxFileSize / 1024 ** 4).toFixed(0);
        const error = new AppError(
          "payload_too_large",
          `${fileName} is larger than ${limitTiB === "0" ? `${maxFileSize} bytes` : `${limitTiB} TiB`}, the most one file may be.`,
        );
        digest.destroy(error);
        fail(error);
      });
      stream.on("end", () => open.delete(stream));
      stream.pipe(digest);
      writing.add(digest);
      digest.once("end", () => writing.delete(digest));
      const write = storage.putObject(key, digest).then(
        (stored) => {
          received[name] = { kind: name, fileName, sizeBytes: stored.size, storageKey: key, sha256: digest.sha256 ?? "" };
        },
        (error: unknown) => fail(error),
      );
      writes.push(write);
    });
    parser.on("field", (name) => {
      if (isFileKind(name))
        fail(new AppError("bad_request", `The ${name} field must be a file: use curl -F '${name}=@/my-folder/${STORED_NAME[name]}' (with the @).`));
    });
    parser.on("filesLimit", () => fail(new AppError("bad_request", "Send exactly two files: database and volume.")));
    parser.on("partsLimit", () => fail(new AppError("bad_request", "Too many form fields: send the files database and volume.")));
    parser.on("error", (error: Error) => fail(new AppError("bad_request", `The multipart body could not be read: ${error.message}.`)));
    parser.on("close", () => {
      void Promise.all(writes).then(() => {
        if (!failed) resolve(received);
      });
    });
    // The client went away (reset or closed early): nothing to answer, but the same clean-up.
    const cutOff = () => fail(new AppError("bad_request", "The upload stopped before the whole body arrived; send it again."));
    req.once("error", cutOff);
    req.on("aborted", cutOff);
    req.pipe(parser);
  });
}

async function deleteStored(storage: Storage, uploadId: string): Promise<void> {
  await Promise.all(
    KINDS.map((kind) =>
      storage.deleteObject(storageKey(uploadId, kind)).catch((err: unknown) => logger.warn({ err, uploadId, kind }, "could not delete an uploaded object")),
    ),
  );
}

async function recordFailure(
  db: Db,
  {
    actor,
    environment,
    reason,
    request,
    uploadId,
    files,
  }: {
    actor: Actor;
    environment: Environment;
    reason: string;
    request: RequestInfo;
    uploadId: string;
    files: StoredUploadFiles;
  },
): Promise<void> {
  await recordAuditEvent(db, {
    actor: actor.email,
    actorType: auditActorType(actor),
    action: "backup.upload_failed",
    projectId: environment.projectId,
    environmentId: environment.id,
    ip: request.ip ?? null,
    userAgent: request.userAgent ?? null,
    detail: {
      uploadId,
      via: "POST /backup/upload",
      reason,
      ...(actor.tokenId ? { tokenId: actor.tokenId } : {}),
      files: KINDS.map((kind) => ({ kind, fileName: files[kind].fileName, size: files[kind].sizeBytes })),
    },
  }).catch((err: unknown) => logger.error({ err, uploadId }, "could not record a failed upload in the audit log"));
}

export interface LiferayUploadOptions {
  /** Per file; the default is the upload protocol's 1 TiB. Tests lower it. */
  maxFileSize?: number;
  lockTtlMs?: number;
  /** How far the files may expand when verified; unset: MAX_EXPANDED_SIZE and MAX_EXPANSION_RATIO. */
  expansion?: ExpansionLimits;
}

/**
 * `POST /backup/upload` — the Liferay backup service's upload API, verbatim:
 * `multipart/form-data` with the files `database` (database.gz) and `volume`
 * (volume.tgz). Both are streamed into storage, then verified and recorded
 * exactly like an Upload Backup (lib/uploads/backup-from-files.ts).
 *
 * Answers 201 Created with `{ backupId, … }` and a Location once the backup
 * is in the list — curl waits for verification, which reads both files once.
 * 400 for a missing or misnamed field, 401/403/404 as everywhere, 409 while
 * the environment is busy, 413 above 1 TiB per file, 422 when verification
 * fails (nothing is kept).
 */
export function createLiferayUploadHandler(options: LiferayUploadOptions = {}): NodeHandler {
  const maxFileSize = options.maxFileSize ?? DEFAULT_UPLOAD_LIMITS.maxFileSize;
  const lockTtlMs = options.lockTtlMs ?? DEFAULT_UPLOAD_LIMITS.lockTtlMs;

  return async (req: IncomingMessage, res: ServerResponse) => {
    res.setHeader("cache-control", "no-store");
    const actor = await resolveActor(callerOfNodeRequest(req));
    if (!actor) throw new AppError("unauthorized", "Sign in, or send an API token (basic auth with your e-mail, or a Bearer token), to upload backups.");
    if (!/^multipart\/form-data\s*;/i.test(header(req, "content-type") ?? "")) {
      throw new AppError(
        "bad_request",
        "Send multipart/form-data with the files database and volume, e.g. curl -F 'database=@/my-folder/database.gz' -F 'volume=@/my-folder/volume.tgz'.",
      );
    }
    const declared = header(req, "content-length");
    if (declared !== undefined && Number(declared) > 2 * maxFileSize + MiB) {
      throw new AppError("payload_too_large", `This upload is ${declared} bytes; each of the two files may be at most ${maxFileSize} bytes.`);
    }

    const db = getDb();
    const storage = getStorage();
    const { productionOnly } = getConfig();
    const environment = await resolveUploadEnvironment(db, { actor, host: header(req, "host"), productionOnly });
    if (!canUploadBackup(actor, environment)) {
      throw new AppError("forbidden", `Only administrators of ${environmentLabel(environment)} may upload backups to it.`);
    }
    // Fail before the body when the answer is already known; the lock is taken for real once the files are in.
    const busy = await getEnvironmentLock(db, { environmentId: environment.id });
    if (busy) throw await environmentBusyError(db, environment, busy);

    const request: RequestInfo = nodeRequestInfo(req);
    const uploadId = randomUUID();
    const startedAt = new Date();
    const received = await receiveFiles(req, storage, uploadId, maxFileSize);
    countUploadedBytes(environment, (received.database?.sizeBytes ?? 0) + (received.volume?.sizeBytes ?? 0));
    const missing = KINDS.filter((kind) => !received[kind]);
    const empty = KINDS.filter((kind) => received[kind]?.sizeBytes === 0);
    if (missing.length > 0 || empty.length > 0) {
      await deleteStored(storage, uploadId);
      if (missing.length > 0) {
        throw new AppError(
          "bad_request",
          `The ${missing.join(" and ")} ${missing.length === 1 ? "file is" : "files are"} missing: send ${missing.map((k) => `-F '${k}=@/my-folder/${STORED_NAME[k]}'`).join(" ")}.`,
          { missing },
        );
      }
      throw new AppError("bad_request", `${empty.map((k) => received[k]!.fileName).join(" and ")} ${empty.length === 1 ? "is" : "are"} empty.`);
    }
    const files = received as Record<FileKind, Received>;

    const holder = uploadLockHolder(uploadId, randomUUID());
    const lock = await acquireEnvironmentLock(db, { environmentId: environment.id, operation: "upload", holder, ttlMs: lockTtlMs });
    if (!lock.acquired) {
      await deleteStored(storage, uploadId);
      throw await environmentBusyError(db, environment, lock.heldBy);
    }
    const abort = new AbortController();
    const heartbeat = setInterval(
      () => {
        renewEnvironmentLock(db, { environmentId: environment.id, holder, ttlMs: lockTtlMs })
          .then((held) => {
            if (!held)
              abort.abort(
                new AppError("conflict", `${environmentLabel(environment)} was taken over by another operation while this upload was verified. Upload again.`),
              );
          })
          .catch((err: unknown) => logger.warn({ err, uploadId }, "could not renew the environment lock"));
      },
      Math.max(1000, lockTtlMs / 4),
    );
    heartbeat.unref();

    let backupId: string;
    let verifyStatus: string;
    let verifyResult: string;
    try {
      const verified = await verifyStoredFiles({
        storage,
        environment,
        files,
        hashes: { database: files.database.sha256, volume: files.volume.sha256 },
        expansion: options.expansion ?? getConfig().expansion,
        signal: abort.signal,
      });
      ({ backupId, verifyStatus, verifyResult } = await recordUploadedBackup({
        db,
        environment,
        files,
        verified,
        actor,
        request,
        startedAt,
        detail: { uploadId, via: "POST /backup/upload" },
      }));
    } catch (error) {
      await deleteStored(storage, uploadId);
      const cause = abort.signal.aborted ? (abort.signal.reason as unknown) : error;
      if (isVerificationError(cause)) {
        await recordFailure(db, { actor, environment, reason: cause.message, request, uploadId, files });
        throw new AppError("unprocessable", cause.message);
      }
      throw cause;
    } finally {
      clearInterval(heartbeat);
      await releaseEnvironmentLock(db, { environmentId: environment.id, holder }).catch((err: unknown) =>
        logger.error({ err, uploadId }, "could not release the environment lock; it lapses on its own"),
      );
    }
    logger.info({ backupId, environment: environmentLabel(environment), actor: actor.email }, "backup uploaded through POST /backup/upload");
    sendJson(
      res,
      201,
      {
        backupId,
        project: environment.projectId,
        environment: environment.name,
        status: "completed",
        verifyStatus,
        verifyResult,
        files: KINDS.map((kind) => ({ kind, fileName: files[kind].fileName, size: files[kind].sizeBytes, sha256: files[kind].sha256 })),
      },
      { location: `/api/v1/backups/${backupId}` },
    );
  };
}

export const serveLiferayUpload: NodeHandler = createLiferayUploadHandler();
