import { createHash } from "node:crypto";
import { Readable } from "node:stream";

const CHUNK_BYTES = 64 * 1024;

/** A named, reproducible byte sequence, so tests never need the whole thing in memory. */
export interface Pattern {
  size: number;
  seed: string;
}

/**
 * Deterministic pseudo-random bytes, one fresh 64 KiB chunk at a time. Each
 * chunk differs (seed and index are hashed), so reordered or duplicated
 * chunks change the digest.
 */
export function* patternChunks({ size, seed }: Pattern): Generator<Buffer> {
  for (let offset = 0, index = 0; offset < size; offset += CHUNK_BYTES, index++) {
    const fill = createHash("sha256").update(`${seed}:${index}`).digest();
    yield Buffer.alloc(Math.min(CHUNK_BYTES, size - offset), fill);
  }
}

export function patternStream(pattern: Pattern, onChunk?: (bytesSoFar: number) => void): Readable {
  function* withProgress(): Generator<Buffer> {
    let bytes = 0;
    for (const chunk of patternChunks(pattern)) {
      bytes += chunk.length;
      onChunk?.(bytes);
      yield chunk;
    }
  }
  return Readable.from(withProgress(), { objectMode: false });
}

export function patternSha256(...patterns: Pattern[]): string {
  const hash = createHash("sha256");
  for (const pattern of patterns) for (const chunk of patternChunks(pattern)) hash.update(chunk);
  return hash.digest("hex");
}

/** Bytes [start, end] (inclusive) of several patterns laid end to end. */
export function patternSlice(patterns: Pattern[], start: number, end: number): Buffer {
  const out: Buffer[] = [];
  let offset = 0;
  for (const pattern of patterns) {
    for (const chunk of patternChunks(pattern)) {
      const chunkEnd = offset + chunk.length;
      if (chunkEnd > start && offset <= end) {
        out.push(chunk.subarray(Math.max(0, start - offset), Math.min(chunk.length, end - offset + 1)));
      }
      offset = chunkEnd;
    }
  }
  return Buffer.concat(out);
}

export async function digestStream(stream: AsyncIterable<unknown>, onChunk?: (bytesSoFar: number) => void): Promise<{ sha256: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of stream) {
    const bytes = chunk as Buffer;
    hash.update(bytes);
    size += bytes.length;
    onChunk?.(size);
  }
  return { sha256: hash.digest("hex"), size };
}

/** Only for small objects. */
export async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
