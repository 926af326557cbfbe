import { Transform } from "node:stream";
import { createGunzip } from "node:zlib";
import type { Gunzip } from "node:zlib";

import { formatBytes } from "@/lib/format";

import { VerificationError } from "./errors";

/** zlib's own failures carry a `Z_…` code; a failing source stream (storage, network) does not. */
function isZlibError(error: unknown): error is NodeJS.ErrnoException {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return typeof code === "string" && code.startsWith("Z_");
}

const HINTS: Record<string, string> = {
  Z_BUF_ERROR: " (the file is cut short)",
  Z_DATA_ERROR: " (the data is corrupt, or the file is not gzip-compressed)",
};

/** Turns a zlib failure into the sentence a person sees; anything else passes through untouched. */
export function explainGzipError(fileName: string, error: unknown): unknown {
  if (!isZlibError(error)) return error;
  return new VerificationError(fileName, `${fileName} is not a valid gzip file: ${error.message}${HINTS[error.code ?? ""] ?? ""}`, {
    cause: error,
  });
}

/**
 * A gunzip stream. Concatenated gzip members are decompressed one after the
 * other, as `gzip -d` does; bytes after the last member that are not another
 * member fail, where `gzip -d` would only warn.
 */
export function gunzip(): Gunzip {
  // Large output chunks: fewer hops through the event loop for multi-GiB files.
  return createGunzip({ chunkSize: 256 * 1024 });
}

/**
 * How far a gzip'd file may expand (MAX_EXPANDED_SIZE, MAX_EXPANSION_RATIO):
 * a few MiB of gzip can hold terabytes of zeros, which would otherwise be
 * read in full by verification and written out by a restore. null: no limit.
 */
export interface ExpansionLimits {
  maxBytes: number | null;
  /** Uncompressed bytes per compressed byte of the file. */
  maxRatio: number | null;
}

/** What one file is held to: the limits, and its compressed size as storage recorded it (what the ratio is judged against). */
export interface ExpansionCheck {
  limits: ExpansionLimits;
  compressedBytes: number;
}

/** For callers that check nothing (tests of other things): the guard only counts. */
export const NO_EXPANSION_LIMIT: ExpansionCheck = { limits: { maxBytes: null, maxRatio: null }, compressedBytes: 0 };

/** The ratio is judged only once this much has come out: a file of a few bytes may expand a thousand times and still be tiny. */
export const RATIO_GRACE_BYTES = 1024 * 1024;

/** A file expanded past a limit; the message names the setting to raise. */
export class ExpansionLimitError extends VerificationError {
  constructor(
    fileName: string,
    readonly setting: "MAX_EXPANDED_SIZE" | "MAX_EXPANSION_RATIO",
    message: string,
  ) {
    super(fileName, message);
  }
}

export function isExpansionLimitError(error: unknown): error is ExpansionLimitError {
  return error instanceof ExpansionLimitError;
}

function ratioText(ratio: number): string {
  return `${Number.isInteger(ratio) ? ratio : ratio.toFixed(2).replace(/0+$/, "")}×`;
}

/**
 * Counts the bytes that come out of gunzip and fails the stream as soon as
 * either limit is crossed, so a gzip bomb stops after at most one chunk past
 * the limit instead of being expanded in full. Put it right after gunzip().
 */
export function expansionGuard(fileName: string, check: ExpansionCheck): Transform {
  const { maxBytes, maxRatio } = check.limits;
  const ratioLimit = maxRatio === null ? null : Math.max(RATIO_GRACE_BYTES, maxRatio * check.compressedBytes);
  const advice = (setting: string) => `If the file is genuine, an administrator of the Lifeboat server can raise ${setting} (0 turns the limit off).`;
  let bytes = 0;
  return new Transform({
    // As gunzip's output chunks: no extra copy, no extra hop.
    highWaterMark: 256 * 1024,
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      // The lower limit is the one crossed first.
      if (ratioLimit !== null && bytes > ratioLimit && (maxBytes === null || ratioLimit <= maxBytes)) {
        return callback(
          new ExpansionLimitError(
            fileName,
            "MAX_EXPANSION_RATIO",
            `${fileName} expands to more than ${ratioText(maxRatio!)} its size (MAX_EXPANSION_RATIO), which is how a gzip bomb looks. ${advice("MAX_EXPANSION_RATIO")}`,
          ),
        );
      }
      if (maxBytes !== null && bytes > maxBytes) {
        return callback(
          new ExpansionLimitError(
            fileName,
            "MAX_EXPANDED_SIZE",
            `${fileName} expands to more than ${formatBytes(maxBytes)} (MAX_EXPANDED_SIZE). ${advice("MAX_EXPANDED_SIZE")}`,
          ),
        );
      }
      callback(null, chunk);
    },
  });
}
