import type { FileHandle } from "node:fs/promises";
import type { Readable } from "node:stream";

export interface LocalStorageConfig {
  driver: "local";
  /** Directory that holds `objects/`, `multipart/` and `tmp/`; created on demand. */
  root: string;
}

export interface S3StorageConfig {
  driver: "s3";
  bucket: string;
  region: string;
  endpoint?: string;
  /** Both or neither; when omitted the SDK's default credential chain is used. */
  accessKeyId?: string;
  secretAccessKey?: string;
  forcePathStyle: boolean;
  /** Every key is stored as `<prefix>/<key>`, so one bucket can be shared. */
  prefix?: string;
  /**
   * Part size for `putObject` (unknown-length writes). S3 allows 10,000 parts,
   * so this caps such objects at 10,000 × putPartSize, and the uploader holds
   * about two parts in memory. Default 128 MiB (≈1.2 TiB max, ≈256 MiB RAM).
   */
  putPartSize?: number;
  /** Keys per ListObjectsV2 page (S3 caps it at 1000, the default). */
  listPageSize?: number;
}

export type StorageConfig = LocalStorageConfig | S3StorageConfig;

export interface ObjectInfo {
  key: string;
  size: number;
  lastModified: Date;
  /** Only the S3 driver reports one; the local driver would have to re-read the file. */
  etag?: string;
}

/** Inclusive on both ends, like an HTTP `Range: bytes=start-end` header. */
export interface ByteRange {
  start: number;
  end: number;
}

export type StorageBody = NodeJS.ReadableStream | Readable;

export interface UploadPartInput {
  key: string;
  uploadId: string;
  /** 1..10000, as in S3. */
  partNumber: number;
  body: StorageBody;
  /** Exact byte length of `body`; any other length fails with `size_mismatch`. */
  size: number;
}

export interface UploadedPart {
  partNumber: number;
  etag: string;
}

export interface CompleteMultipartUploadInput {
  key: string;
  uploadId: string;
  /** From our own database, ascending by partNumber; never from a storage listing. */
  parts: UploadedPart[];
}

export interface AbortMultipartUploadInput {
  key: string;
  uploadId: string;
}

/**
 * One storage backend. Every method streams: memory use does not depend on
 * object size (the S3 driver's `putObject` buffers at most ~2 parts, see
 * `putPartSize`). Failures that callers are expected to handle are thrown as
 * `StorageError` (see ./errors).
 */
export interface Storage {
  readonly driver: "local" | "s3";
  createMultipartUpload(key: string): Promise<{ uploadId: string }>;
  /** Uploading the same partNumber again replaces the earlier part. */
  uploadPart(input: UploadPartInput): Promise<{ etag: string; size: number }>;
  completeMultipartUpload(input: CompleteMultipartUploadInput): Promise<ObjectInfo>;
  /** Idempotent: aborting an unknown or finished upload is not an error. */
  abortMultipartUpload(input: AbortMultipartUploadInput): Promise<void>;
  /** Streaming write of an object whose length is not known up front. */
  putObject(key: string, body: Readable): Promise<ObjectInfo>;
  /** A range must lie inside the object, otherwise `invalid_range`. */
  getObject(key: string, range?: ByteRange): Promise<Readable>;
  /**
   * Drivers that keep objects as files (local): the object as an open file,
   * which the caller closes. Lets downloads read into reused buffers.
   */
  openFile?(key: string): Promise<{ handle: FileHandle; size: number }>;
  stat(key: string): Promise<ObjectInfo | null>;
  /** Deleting a missing key is not an error. */
  deleteObject(key: string): Promise<void>;
  /**
   * Every object whose key starts with `prefix` ("" for all), in UTF-8 byte
   * order of the key, as S3 lists them (s3rver, a test double, does not).
   */
  list(prefix: string): AsyncIterable<ObjectInfo>;
}
