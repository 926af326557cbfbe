import { createHash } from "node:crypto";
import type { Hash } from "node:crypto";
import { Transform } from "node:stream";
import type { TransformCallback } from "node:stream";

export class ChecksumMismatchError extends Error {
  override readonly name = "ChecksumMismatchError";

  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`SHA-256 mismatch: expected ${expected}, got ${actual}`);
  }
}

/**
 * Passes bytes through while hashing and counting them. With `expected`, a
 * mismatch fails the stream at its very end, before it ends: the storage
 * driver downstream (see ExactSizeStream) then never receives the last bytes
 * and so never commits the part. A bad part never replaces a good one.
 */
export class DigestStream extends Transform {
  readonly #hash: Hash = createHash("sha256");
  #bytes = 0;
  #sha256: string | null = null;

  /** `highWaterMark` (default 16 KiB) is per side; see storeUploadPart for why a part asks for more. */
  constructor(
    readonly expected?: string,
    options: { highWaterMark?: number } = {},
  ) {
    super(options);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#hash.update(chunk);
    this.#bytes += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.#sha256 = this.#hash.digest("hex");
    if (this.expected !== undefined && this.#sha256 !== this.expected) {
      return callback(new ChecksumMismatchError(this.expected, this.#sha256));
    }
    callback();
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Known once the stream has ended. */
  get sha256(): string | null {
    return this.#sha256;
  }
}
