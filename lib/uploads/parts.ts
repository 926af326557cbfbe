import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

import type { Actor } from "@/lib/auth/permissions";
import type { Db } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import { isStorageError } from "@/lib/storage/errors";
import type { Storage } from "@/lib/storage/types";

import { assertCanTouchUploadSession, assertEnvironmentVisible } from "./access";
import { ChecksumMismatchError, DigestStream } from "./digest";
import { SHA256_HEX } from "./files";
import { expectedPartSize, resolveLimits } from "./limits";
import type { UploadLimits } from "./limits";
import { closedSessionError, UUID } from "./sessions";
import { deleteUploadPart, extendOpenSession, getUploadContext, upsertUploadPart } from "./store";

export interface PartRequest {
  uploadId: string;
  /** As it appeared in the URL. */
  partNumber: string;
  /** The Content-Length header, if any. */
  contentLength: string | undefined;
  /** The X-Part-SHA256 header, if any. */
  sha256: string | undefined;
}

export interface CheckedPart {
  upload: NonNullable<Awaited<ReturnType<typeof getUploadContext>>>;
  partNumber: number;
  size: number;
  sha256: string;
}

/**
 * Everything that can be decided from the URL and headers: who may send this
 * part, whether the session takes parts, and whether the announced size is
 * right. Runs before a single body byte is read.
 */
export async function checkPartRequest(
  db: Db,
  { actor, request, productionOnly, now = new Date() }: { actor: Actor; request: PartRequest; productionOnly: boolean; now?: Date },
): Promise<CheckedPart> {
  const context = UUID.test(request.uploadId) ? await getUploadContext(db, { uploadId: request.uploadId }) : undefined;
  if (!context) throw new AppError("not_found", "No such upload.");
  assertEnvironmentVisible(actor, context.environment, { productionOnly });
  assertCanTouchUploadSession(actor, context.environment, context.session);
  const closed = closedSessionError({ session: context.session, environment: context.environment, uploads: [] }, now);
  if (closed) throw closed;

  const { upload } = context;
  const partNumber = /^\d{1,5}$/.test(request.partNumber) ? Number(request.partNumber) : NaN;
  if (!(partNumber >= 1 && partNumber <= upload.partCount)) {
    throw new AppError("bad_request", `${upload.fileName} has parts 1 to ${upload.partCount}; there is no part ${request.partNumber}.`);
  }
  const sha256 = request.sha256?.trim().toLowerCase();
  if (!sha256 || !SHA256_HEX.test(sha256)) {
    throw new AppError("bad_request", "Send the part's SHA-256 as 64 hexadecimal characters in the X-Part-SHA256 header.");
  }
  if (request.contentLength === undefined || !/^\d+$/.test(request.contentLength)) {
    throw new AppError("bad_request", "Send the part's length in Content-Length (chunked transfer encoding is not accepted).");
  }
  const size = Number(request.contentLength);
  if (size > upload.partSize) {
    throw new AppError(
      "payload_too_large",
      `Part ${partNumber} of ${upload.fileName} is ${size} bytes; parts of this upload are at most ${upload.partSize} bytes.`,
      { maxPartSize: upload.partSize },
    );
  }
  const expected = expectedPartSize(upload.sizeBytes, upload.partSize, partNumber);
  if (size !== expected) {
    throw new AppError("bad_request", `Part ${partNumber} of ${upload.fileName} must be exactly ${expected} bytes; the request announces ${size}.`, {
      expectedSize: expected,
    });
  }
  return { upload: context, partNumber, size, sha256 };
}

/**
 * Each side of the hashing stage holds this much. The socket delivers 64 KiB
 * chunks; with the 16 KiB default every chunk would fill the stage, pause the
 * socket and resume it again.
 */
const DIGEST_BUFFER_BYTES = 256 * 1024;

/** The request body failed because the client went away (not because we stopped reading it). */
function isClientGone(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === "ECONNRESET" || (error as Error | null)?.message === "aborted";
}

/**
 * Streams one part's body straight into the storage driver's multipart
 * upload while hashing it — never held in memory. Only a part whose bytes
 * match its SHA-256 is stored and recorded; sending a part number again
 * replaces it.
 *
 * A failed attempt also forgets any earlier copy of that part: S3 and the
 * local driver never commit an incomplete or mismatching body, but not every
 * S3-compatible server is that careful (s3rver keeps whatever arrived before
 * the connection dropped). Listing the part as missing costs one resend; a
 * silently damaged part would cost the whole upload at completion.
 */
export async function storeUploadPart(
  deps: { db: Db; storage: Storage; limits?: Partial<UploadLimits>; now?: Date },
  part: CheckedPart,
  body: Readable,
): Promise<{ partNumber: number; size: number; sha256: string }> {
  const { upload, session } = part.upload;
  // The part's only hashing: the storage driver adds none of its own (the local driver's etag is a file identity).
  const digest = new DigestStream(part.sha256, { highWaterMark: DIGEST_BUFFER_BYTES });
  // Never rejects: the storage call below reports the failure that matters.
  const feeding = pipeline(body, digest).catch((error: unknown) => error);
  let stored: { etag: string };
  try {
    stored = await deps.storage.uploadPart({
      key: upload.storageKey,
      uploadId: upload.storageUploadId,
      partNumber: part.partNumber,
      body: digest,
      size: part.size,
    });
  } catch (error) {
    digest.destroy();
    const feedError = await feeding;
    await deleteUploadPart(deps.db, { uploadId: upload.id, partNumber: part.partNumber });
    const cause = error instanceof ChecksumMismatchError ? error : feedError instanceof ChecksumMismatchError ? feedError : error;
    if (cause instanceof ChecksumMismatchError) {
      throw new AppError(
        "unprocessable",
        `Part ${part.partNumber} of ${upload.fileName} arrived damaged: its SHA-256 is ${cause.actual}, but X-Part-SHA256 says ${cause.expected}. It was not stored; send the part again.`,
        { partNumber: part.partNumber, expected: cause.expected, actual: cause.actual },
      );
    }
    if (isClientGone(feedError) || isClientGone(cause) || isStorageError(cause, "size_mismatch")) {
      throw new AppError("bad_request", `Part ${part.partNumber} of ${upload.fileName} did not arrive whole (the connection closed early); send it again.`);
    }
    if (isStorageError(cause, "upload_not_found")) {
      throw new AppError("gone", "This upload no longer exists in storage; start the upload again.");
    }
    throw cause;
  }
  await feeding;
  await upsertUploadPart(deps.db, {
    uploadId: upload.id,
    partNumber: part.partNumber,
    sizeBytes: part.size,
    sha256: part.sha256,
    etag: stored.etag,
  });
  // Activity keeps the session alive, but one write per half-lifetime is plenty (not one per part).
  const limits = resolveLimits(deps.limits);
  const now = (deps.now ?? new Date()).getTime();
  if (session.expiresAt.getTime() - now < limits.sessionTtlMs / 2) {
    await extendOpenSession(deps.db, { sessionId: session.id, expiresAt: new Date(now + limits.sessionTtlMs) });
  }
  return { partNumber: part.partNumber, size: part.size, sha256: part.sha256 };
}
