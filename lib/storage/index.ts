import { LocalStorage } from "./local";
import { S3Storage } from "./s3";
import type { Storage, StorageConfig } from "./types";

export function createStorage(config: StorageConfig): Storage {
  switch (config.driver) {
    case "local":
      return new LocalStorage(config);
    case "s3":
      return new S3Storage(config);
  }
  // Unreachable for typed callers; config may come from parsed env at runtime.
  throw new Error(`unknown storage driver ${JSON.stringify((config as { driver?: unknown }).driver)}`);
}

export { LocalStorage } from "./local";
export { S3Storage, createS3Client } from "./s3";
export { STORAGE_ERROR_HTTP_STATUS, StorageError, isStorageError } from "./errors";
export type { StorageErrorCode } from "./errors";
export type {
  AbortMultipartUploadInput,
  ByteRange,
  CompleteMultipartUploadInput,
  LocalStorageConfig,
  ObjectInfo,
  S3StorageConfig,
  Storage,
  StorageBody,
  StorageConfig,
  UploadedPart,
  UploadPartInput,
} from "./types";
