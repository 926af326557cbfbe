import { AppError } from "@/lib/errors";

import type { UploadLimits } from "./limits";
import type { FileKind } from "./store";

/** What the browser or CLI says about a file before sending it. */
export interface UploadFileInput {
  fileName: string;
  size: number;
  /** The file's modification time (ms since the epoch), as the browser's File reports it; informational. */
  lastModified?: number;
  /** SHA-256 of the whole file, if the client already knows it; otherwise it is sent on completion. */
  sha256?: string;
}

export interface CreateUploadInput {
  database: UploadFileInput;
  volume: UploadFileInput;
}

export const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

/** The names the seeds use: `database.gz` (a gzip'd SQL dump) and `volume.tgz` (a gzip'd tar of document_library). */
export const FILE_RULES: Record<FileKind, { label: string; accepts: (name: string) => boolean; expected: string }> = {
  database: {
    label: "database",
    accepts: (name) => /\.gz$/i.test(name) && !/\.tar\.gz$/i.test(name),
    expected: "a gzip'd SQL dump ending in .gz, like database.gz (not a .tar.gz or .tgz)",
  },
  volume: {
    label: "document library",
    accepts: (name) => /\.(tgz|tar\.gz)$/i.test(name),
    expected: "a gzip'd tar of document_library ending in .tgz or .tar.gz, like volume.tgz",
  },
};

/** The object key each file is stored under; the backup keeps these keys (see complete.ts). */
export const STORED_NAME: Record<FileKind, string> = { database: "database.gz", volume: "volume.tgz" };

function checkFile(kind: FileKind, file: UploadFileInput, limits: UploadLimits): void {
  const rule = FILE_RULES[kind];
  if (!file.fileName || file.fileName.length > 255 || /[/\\\u0000-\u001f]/.test(file.fileName)) {
    throw new AppError("bad_request", `The ${rule.label} file needs a plain file name (no folders), up to 255 characters.`);
  }
  if (!rule.accepts(file.fileName)) {
    throw new AppError("bad_request", `${file.fileName} cannot be the ${rule.label} file: it must be ${rule.expected}.`);
  }
  if (!Number.isSafeInteger(file.size) || file.size <= 0) {
    throw new AppError("bad_request", `${file.fileName} is empty; the ${rule.label} file must hold data.`);
  }
  if (file.size > limits.maxFileSize) {
    throw new AppError(
      "payload_too_large",
      `${file.fileName} is ${(file.size / 1024 ** 4).toFixed(2)} TiB; files of up to ${(limits.maxFileSize / 1024 ** 4).toFixed(0)} TiB can be uploaded.`,
    );
  }
  if (file.sha256 !== undefined && !SHA256_HEX.test(file.sha256)) {
    throw new AppError("bad_request", `The SHA-256 of ${file.fileName} must be 64 hexadecimal characters.`);
  }
}

/** The route's zod schema checks the shape; these are the rules themselves, checked wherever a session is made. */
export function checkUploadFiles(input: CreateUploadInput, limits: UploadLimits): void {
  checkFile("database", input.database, limits);
  checkFile("volume", input.volume, limits);
}
