import { StorageError } from "./errors";
import type { ByteRange, UploadedPart } from "./types";

const MAX_KEY_BYTES = 1024; // S3's limit; enforcing it everywhere keeps the drivers interchangeable
export const MAX_PART_NUMBER = 10_000;

// Control characters break logs and HTTP headers; backslash is a path separator on Windows.
const FORBIDDEN_CHARS = /[\u0000-\u001f\u007f\\]/;

function invalidKey(key: string, reason: string): StorageError {
  return new StorageError("invalid_key", `invalid storage key ${JSON.stringify(key)}: ${reason}`);
}

function checkCharacters(value: string): string | null {
  if (Buffer.byteLength(value, "utf8") > MAX_KEY_BYTES) return `longer than ${MAX_KEY_BYTES} bytes`;
  if (FORBIDDEN_CHARS.test(value)) return "contains a backslash or a control character";
  if (value.startsWith("/")) return "starts with '/'";
  return null;
}

/** Keys double as relative paths for the local driver, so anything that could escape or alias a path is refused. */
function checkSegments(segments: string[]): string | null {
  for (const segment of segments) {
    if (segment === "") return "contains an empty path segment";
    if (segment === "." || segment === "..") return "contains a '.' or '..' segment";
  }
  return null;
}

export function assertValidKey(key: string): void {
  if (typeof key !== "string" || key === "") throw invalidKey(String(key), "empty");
  const reason = checkCharacters(key) ?? checkSegments(key.split("/"));
  if (reason) throw invalidKey(key, reason);
}

/** Like a key, except it may be empty, end with '/', or end in a partial segment. */
export function assertValidPrefix(prefix: string): void {
  if (typeof prefix !== "string") throw invalidKey(String(prefix), "not a string");
  if (prefix === "") return;
  const directories = prefix.split("/").slice(0, -1);
  const reason = checkCharacters(prefix) ?? checkSegments(directories);
  if (reason) throw invalidKey(prefix, reason);
}

export function assertValidRangeShape(range: ByteRange): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new StorageError("invalid_range", `invalid byte range ${start}-${end}`);
  }
}

export function assertRangeWithin(range: ByteRange, size: number): void {
  if (range.end >= size) {
    throw new StorageError("invalid_range", `byte range ${range.start}-${range.end} is outside an object of ${size} bytes`);
  }
}

export function assertValidPartNumber(partNumber: number): void {
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER) {
    throw new StorageError("invalid_argument", `part number must be an integer in 1..${MAX_PART_NUMBER}, got ${partNumber}`);
  }
}

export function assertValidSize(size: number): void {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new StorageError("invalid_argument", `size must be a non-negative integer, got ${size}`);
  }
}

export function assertValidPartList(parts: readonly UploadedPart[]): void {
  if (parts.length === 0) throw new StorageError("part_mismatch", "a multipart upload needs at least one part");
  let previous = 0;
  for (const { partNumber, etag } of parts) {
    if (!Number.isInteger(partNumber) || partNumber <= previous || partNumber > MAX_PART_NUMBER) {
      throw new StorageError("part_mismatch", "part numbers must be strictly ascending integers in 1..10000");
    }
    if (typeof etag !== "string" || normalizeEtag(etag) === "") {
      throw new StorageError("part_mismatch", `part ${partNumber} has an empty etag`);
    }
    previous = partNumber;
  }
}

/** S3 quotes etags and ignores the quotes when comparing; so do we. */
export function normalizeEtag(etag: string): string {
  return etag.replaceAll('"', "").trim();
}
