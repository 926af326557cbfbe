import { getConfig } from "@/lib/config";

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
export const TiB = 1024 * GiB;

export interface UploadLimits {
  /** No part is smaller (except each file's last): S3 refuses parts under 5 MiB, and tiny parts waste requests. */
  minPartSize: number;
  /**
   * Parts stay at or below this while a file still fits in `maxParts` of
   * them; above that (files over 625 GiB with the defaults) the part count
   * wins and parts grow, to at most 105 MiB for a 1 TiB file.
   */
  maxPartSize: number;
  /** S3's own limit per multipart upload. */
  maxParts: number;
  maxFileSize: number;
  /** An open session that receives nothing for this long is abandoned; every part received pushes it out again. */
  sessionTtlMs: number;
  /** How many parts a client should send at once (a hint in every session; the browser and CLI may override it). */
  parallelParts: number;
  /** The environment lock's lease while a backup is generated from an upload; renewed every `lockTtlMs / 4`. */
  lockTtlMs: number;
}

/**
 * Why these numbers. Node's HTTP server gives a whole request 300 s
 * (`server.requestTimeout`) before it cuts the connection, so no single part
 * may take anywhere near that. A 64 MiB part takes ~64 s at 1 MiB/s per
 * stream, and even the largest part (105 MiB, only for files above 625 GiB)
 * takes ~105 s at that speed; anyone uploading a file that size over a slower
 * link would need weeks anyway. Small parts also bound what a dropped
 * connection costs: only the failed part is sent again.
 *
 * Why not smaller: every part is one authenticated request that reads and
 * writes the database. With 8 MiB parts that per-request work cost about
 * 1 CPU-s per GiB on top of streaming and hashing; 32 MiB parts cut it to a
 * quarter (bench/upload.ts: 3.5 → 2.5 CPU-s/GiB). A browser then holds at
 * most 4 × 32 MiB of parts in memory.
 */
export const DEFAULT_UPLOAD_LIMITS: UploadLimits = {
  minPartSize: 32 * MiB,
  maxPartSize: 64 * MiB,
  maxParts: 10_000,
  maxFileSize: TiB,
  sessionTtlMs: 24 * 60 * 60 * 1000,
  parallelParts: 4,
  lockTtlMs: 60_000,
};

/** The defaults, then what the deployment configured (UPLOAD_PARALLEL_PARTS, UPLOAD_SESSION_TTL_HOURS), then the caller's. */
export function resolveLimits(overrides?: Partial<UploadLimits>): UploadLimits {
  return { ...DEFAULT_UPLOAD_LIMITS, ...getConfig().uploads, ...overrides };
}

function roundUpToMiB(bytes: number): number {
  return Math.ceil(bytes / MiB) * MiB;
}

/**
 * The part size for a file: `minPartSize` for most files, and as much more
 * (in whole MiB) as it takes to fit the file in `maxParts` parts. That is
 * never above `maxPartSize` unless the file could not fit otherwise.
 */
export function choosePartSize(fileSize: number, limits: UploadLimits = DEFAULT_UPLOAD_LIMITS): number {
  if (!Number.isSafeInteger(fileSize) || fileSize <= 0) throw new RangeError(`file size must be a positive integer, got ${fileSize}`);
  const fitting = roundUpToMiB(Math.ceil(fileSize / limits.maxParts));
  return Math.max(limits.minPartSize, fitting);
}

export function countParts(fileSize: number, partSize: number): number {
  return Math.ceil(fileSize / partSize);
}

/** Every part is `partSize` bytes except the last, which holds the rest. */
export function expectedPartSize(fileSize: number, partSize: number, partNumber: number): number {
  const count = countParts(fileSize, partSize);
  if (partNumber < count) return partSize;
  return fileSize - partSize * (count - 1);
}
