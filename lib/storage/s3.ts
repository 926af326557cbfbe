import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { StorageError } from "./errors";
import { ExactSizeStream, limitBytes } from "./streams";
import type { AbortMultipartUploadInput, ByteRange, CompleteMultipartUploadInput, ObjectInfo, S3StorageConfig, Storage, UploadPartInput } from "./types";
import { assertValidKey, assertValidPartList, assertValidPartNumber, assertValidPrefix, assertValidRangeShape, assertValidSize } from "./validation";

const MiB = 1024 * 1024;
// 10,000 parts × 128 MiB ≈ 1.2 TiB, enough for the largest backups we expect.
const DEFAULT_PUT_PART_SIZE = 128 * MiB;
const DEFAULT_LIST_PAGE_SIZE = 1000;

interface AwsLikeError {
  name?: string;
  $metadata?: { httpStatusCode?: number };
}

function errorName(error: unknown): string | undefined {
  return (error as AwsLikeError | null)?.name;
}

function httpStatus(error: unknown): number | undefined {
  return (error as AwsLikeError | null)?.$metadata?.httpStatusCode;
}

function isNotFound(error: unknown): boolean {
  const name = errorName(error);
  if (name === "NoSuchBucket") return false;
  return name === "NoSuchKey" || name === "NotFound" || httpStatus(error) === 404;
}

/** Translates the S3 errors callers are expected to handle; everything else passes through untouched. */
function toStorageError(error: unknown, key: string): unknown {
  switch (errorName(error)) {
    case "NoSuchUpload":
      return new StorageError("upload_not_found", `multipart upload for ${JSON.stringify(key)} does not exist`, { cause: error });
    case "InvalidRange":
      return new StorageError("invalid_range", `byte range is outside ${JSON.stringify(key)}`, { cause: error });
    case "InvalidPart":
    case "InvalidPartOrder":
    case "EntityTooSmall":
      return new StorageError("part_mismatch", `parts do not match the upload of ${JSON.stringify(key)}`, { cause: error });
  }
  if (isNotFound(error)) return new StorageError("not_found", `object ${JSON.stringify(key)} does not exist`, { cause: error });
  if (httpStatus(error) === 416) return new StorageError("invalid_range", `byte range is outside ${JSON.stringify(key)}`, { cause: error });
  return error;
}

/**
 * Servers without AbortMultipartUpload (s3rver answers 405 MethodNotAllowed)
 * cannot free the parts anyway; the bucket's AbortIncompleteMultipartUpload
 * lifecycle rule is the backstop there, so failing the caller helps nobody.
 */
function isAbortUnsupported(error: unknown): boolean {
  const name = errorName(error);
  const status = httpStatus(error);
  return name === "NotImplemented" || name === "MethodNotAllowed" || status === 405 || status === 501;
}

function parseContentRange(header: string | undefined): { start: number; end: number } | null {
  const match = header ? /^bytes (\d+)-(\d+)\//.exec(header) : null;
  return match ? { start: Number(match[1]), end: Number(match[2]) } : null;
}

function normalizePrefix(prefix: string | undefined): string {
  const trimmed = (prefix ?? "").replace(/^\/+|\/+$/g, "");
  if (trimmed === "") return "";
  assertValidPrefix(trimmed);
  return `${trimmed}/`;
}

export function createS3Client(config: S3StorageConfig): S3Client {
  const { accessKeyId, secretAccessKey } = config;
  if (Boolean(accessKeyId) !== Boolean(secretAccessKey)) {
    throw new Error("S3 storage: set both accessKeyId and secretAccessKey, or neither");
  }
  return new S3Client({
    region: config.region,
    endpoint: config.endpoint,
    forcePathStyle: config.forcePathStyle,
    credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
    // By default SDK v3 adds CRC32 trailers and aws-chunked bodies, which many
    // S3-compatible servers store verbatim, corrupting the object.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

export class S3Storage implements Storage {
  readonly driver = "s3" as const;
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #putPartSize: number;
  readonly #listPageSize: number;

  constructor(config: S3StorageConfig, client: S3Client = createS3Client(config)) {
    if (!config.bucket) throw new Error("S3 storage: bucket is required");
    this.#client = client;
    this.#bucket = config.bucket;
    this.#prefix = normalizePrefix(config.prefix);
    this.#putPartSize = config.putPartSize ?? DEFAULT_PUT_PART_SIZE;
    this.#listPageSize = config.listPageSize ?? DEFAULT_LIST_PAGE_SIZE;
  }

  async createMultipartUpload(key: string): Promise<{ uploadId: string }> {
    assertValidKey(key);
    const out = await this.#client.send(new CreateMultipartUploadCommand({ Bucket: this.#bucket, Key: this.#fullKey(key) }));
    if (!out.UploadId) throw new Error("S3 returned no UploadId");
    return { uploadId: out.UploadId };
  }

  async uploadPart(input: UploadPartInput): Promise<{ etag: string; size: number }> {
    const { key, uploadId, partNumber, body, size } = input;
    assertValidKey(key);
    assertValidPartNumber(partNumber);
    assertValidSize(size);

    const guarded = new ExactSizeStream(size);
    // The SDK pipes Body into the request without watching it for errors, so
    // a body that fails (e.g. comes up short) would leave the request hanging
    // for the missing bytes. Aborting the request instead means S3 never
    // stores the part.
    const abort = new AbortController();
    let bodyError: unknown;
    const feeding = pipeline(body, guarded).catch((error: unknown) => {
      bodyError = error;
      abort.abort();
    });
    try {
      const out = await this.#client.send(
        new UploadPartCommand({
          Bucket: this.#bucket,
          Key: this.#fullKey(key),
          UploadId: uploadId,
          PartNumber: partNumber,
          Body: guarded,
          ContentLength: size,
        }),
        { abortSignal: abort.signal },
      );
      if (!out.ETag) throw new Error(`S3 returned no ETag for part ${partNumber}`);
      return { etag: out.ETag, size };
    } catch (error) {
      const cause = bodyError; // read before destroy() below makes the pipeline fail with a less useful error
      guarded.destroy();
      await feeding;
      throw cause ?? toStorageError(error, key);
    }
  }

  async completeMultipartUpload(input: CompleteMultipartUploadInput): Promise<ObjectInfo> {
    const { key, uploadId, parts } = input;
    assertValidKey(key);
    assertValidPartList(parts);
    try {
      await this.#client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.#bucket,
          Key: this.#fullKey(key),
          UploadId: uploadId,
          MultipartUpload: { Parts: parts.map(({ partNumber, etag }) => ({ PartNumber: partNumber, ETag: etag })) },
        }),
      );
    } catch (error) {
      throw toStorageError(error, key);
    }
    return this.#statAfterWrite(key);
  }

  async abortMultipartUpload(input: AbortMultipartUploadInput): Promise<void> {
    assertValidKey(input.key);
    try {
      await this.#client.send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: this.#fullKey(input.key), UploadId: input.uploadId }));
    } catch (error) {
      if (errorName(error) === "NoSuchUpload" || isAbortUnsupported(error)) return;
      throw error;
    }
  }

  async putObject(key: string, body: Readable): Promise<ObjectInfo> {
    assertValidKey(key);
    const upload = new Upload({
      client: this.#client,
      params: { Bucket: this.#bucket, Key: this.#fullKey(key), Body: body },
      partSize: this.#putPartSize,
      // Upload buffers whole parts in memory; one part in flight keeps that at ~2 parts.
      queueSize: 1,
      // Upload's own abort error would replace the real failure on servers without
      // AbortMultipartUpload; we abort ourselves, tolerantly.
      leavePartsOnError: true,
    });
    try {
      await upload.done();
    } catch (error) {
      if (upload.uploadId) {
        // Best effort only: the original failure is the one worth reporting.
        await this.abortMultipartUpload({ key, uploadId: upload.uploadId }).catch(() => undefined);
      }
      throw toStorageError(error, key);
    }
    return this.#statAfterWrite(key);
  }

  async getObject(key: string, range?: ByteRange): Promise<Readable> {
    assertValidKey(key);
    if (range) assertValidRangeShape(range);
    let out;
    try {
      out = await this.#client.send(
        new GetObjectCommand({
          Bucket: this.#bucket,
          Key: this.#fullKey(key),
          // Always an explicit start-end: some S3-compatible servers mishandle suffix ranges.
          Range: range ? `bytes=${range.start}-${range.end}` : undefined,
        }),
      );
    } catch (error) {
      throw toStorageError(error, key);
    }
    if (!(out.Body instanceof Readable)) throw new Error("S3 returned a body that is not a Node stream");
    if (!range) return out.Body;
    const served = parseContentRange(out.ContentRange) ?? { start: 0, end: (out.ContentLength ?? 0) - 1 };
    return fitToRange(out.Body, served, range, key);
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    assertValidKey(key);
    try {
      const out = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: this.#fullKey(key) }));
      return { key, size: out.ContentLength ?? 0, lastModified: out.LastModified ?? new Date(0), etag: out.ETag };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async deleteObject(key: string): Promise<void> {
    assertValidKey(key);
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#fullKey(key) }));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    assertValidPrefix(prefix);
    let continuationToken: string | undefined;
    do {
      const page = await this.#client.send(
        new ListObjectsV2Command({
          Bucket: this.#bucket,
          Prefix: this.#fullKey(prefix),
          MaxKeys: this.#listPageSize,
          ContinuationToken: continuationToken,
        }),
      );
      for (const object of page.Contents ?? []) {
        if (!object.Key?.startsWith(this.#prefix)) continue;
        yield {
          key: object.Key.slice(this.#prefix.length),
          size: object.Size ?? 0,
          lastModified: object.LastModified ?? new Date(0),
          etag: object.ETag,
        };
      }
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuationToken);
  }

  #fullKey(key: string): string {
    return this.#prefix + key;
  }

  async #statAfterWrite(key: string): Promise<ObjectInfo> {
    const info = await this.stat(key);
    if (!info) throw new StorageError("not_found", `object ${JSON.stringify(key)} vanished right after it was written`);
    return info;
  }
}

/**
 * Real S3 clamps an end beyond the object to its last byte, and s3rver reads
 * `bytes=0-0` as "from 0 to the end". Check what was actually served: too
 * little means the range did not fit the object, too much gets trimmed.
 */
function fitToRange(body: Readable, served: { start: number; end: number }, range: ByteRange, key: string): Readable {
  if (served.start !== range.start || served.end < range.end) {
    body.destroy();
    if (served.start === range.start) {
      throw new StorageError("invalid_range", `byte range ${range.start}-${range.end} is outside ${JSON.stringify(key)}`);
    }
    throw new Error(`S3 answered range ${range.start}-${range.end} with ${served.start}-${served.end}`);
  }
  return served.end > range.end ? limitBytes(body, range.end - range.start + 1) : body;
}
