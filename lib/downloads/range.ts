import type { ByteRange } from "@/lib/storage/types";

/**
 * What a request's `Range` header asks of a file of a known size (RFC 9110 §14).
 * Only one range is ever served: a client that asks for several gets the whole
 * file, which §14.2 allows, and no multipart/byteranges body has to be built.
 */
export type RangeRequest = { kind: "full" } | { kind: "partial"; range: ByteRange } | { kind: "unsatisfiable"; reason: string };

const RANGE_HEADER = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)=(.*)$/;
const INT_RANGE = /^(\d+)-(\d*)$/;
const SUFFIX_RANGE = /^-(\d+)$/;

type RangeSpec = { first: number; last: number | null } | { suffix: number };

function parseSpec(spec: string): RangeSpec | null {
  const int = INT_RANGE.exec(spec);
  if (int) return { first: Number(int[1]), last: int[2] ? Number(int[2]) : null };
  const suffix = SUFFIX_RANGE.exec(spec);
  return suffix ? { suffix: Number(suffix[1]) } : null;
}

/**
 * Always an explicit start-end, whatever form the client used: storage gets
 * `{ start, end }` only, and some S3-compatible servers misread suffix ranges.
 */
function resolveSpec(spec: RangeSpec, size: number): RangeRequest {
  if ("suffix" in spec) {
    if (spec.suffix === 0 || size === 0) return { kind: "unsatisfiable", reason: "the suffix range is empty" };
    return { kind: "partial", range: { start: Math.max(0, size - spec.suffix), end: size - 1 } };
  }
  if (spec.last !== null && spec.last < spec.first) {
    return { kind: "unsatisfiable", reason: "the range ends before it starts" };
  }
  if (spec.first >= size) return { kind: "unsatisfiable", reason: "the range starts after the end of the file" };
  return { kind: "partial", range: { start: spec.first, end: Math.min(spec.last ?? size - 1, size - 1) } };
}

export function parseRangeHeader(header: string | undefined, size: number): RangeRequest {
  if (header === undefined || header.trim() === "") return { kind: "full" };
  const match = RANGE_HEADER.exec(header.trim());
  if (!match) return { kind: "unsatisfiable", reason: "the Range header is malformed" };
  // §14.2: a range unit the server does not understand MUST be ignored.
  if (match[1]?.toLowerCase() !== "bytes") return { kind: "full" };

  // §5.6.1: empty list elements ("0-1,,") are legal and mean nothing.
  const specs = (match[2] ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map(parseSpec);
  if (specs.length === 0 || specs.some((s) => s === null)) {
    return { kind: "unsatisfiable", reason: "the Range header is malformed" };
  }
  const [only, ...rest] = specs;
  if (!only || rest.length > 0) return { kind: "full" };
  return resolveSpec(only, size);
}

/**
 * `If-Range` (RFC 9110 §13.1.5): resume only if the file is still the one the
 * client started; otherwise the whole current file is sent. Entity tags are
 * compared strongly, so a weak tag never matches; a date must equal
 * Last-Modified exactly.
 */
export function ifRangeMatches(header: string | undefined, current: { etag: string; lastModified: Date }): boolean {
  const value = header?.trim();
  if (!value) return true;
  if (value.startsWith('"') || value.startsWith("W/")) return value === current.etag;
  const date = Date.parse(value);
  return !Number.isNaN(date) && date === Math.floor(current.lastModified.getTime() / 1000) * 1000;
}
