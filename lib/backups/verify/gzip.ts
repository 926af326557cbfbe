import { createGunzip } from "node:zlib";
import type { Gunzip } from "node:zlib";

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
