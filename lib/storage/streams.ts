import { Readable, Transform, type TransformCallback } from "node:stream";
import { StorageError } from "./errors";

/**
 * Passes bytes through while insisting the stream is exactly `expected`
 * bytes long; anything else fails with `size_mismatch`.
 *
 * The chunk that completes the expected length is held back until the source
 * ends. Without that, a receiver that has already seen `expected` bytes (an S3
 * server honouring Content-Length) could store the part before the extra
 * bytes that prove it wrong arrive.
 */
export class ExactSizeStream extends Transform {
  readonly #expected: number;
  #seen = 0;
  #held: Buffer | null = null;

  constructor(expected: number) {
    super();
    this.#expected = expected;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (chunk.length === 0) return callback();
    this.#seen += chunk.length;
    if (this.#seen > this.#expected) {
      return callback(this.#mismatch(`more than ${this.#expected}`));
    }
    if (this.#seen === this.#expected) {
      this.#held = chunk;
      return callback();
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.#seen !== this.#expected) return callback(this.#mismatch(String(this.#seen)));
    if (this.#held) this.push(this.#held);
    this.#held = null;
    callback();
  }

  #mismatch(actual: string): StorageError {
    return new StorageError("size_mismatch", `expected ${this.#expected} bytes, the stream delivered ${actual}`);
  }
}

/** First `length` bytes of `source`; stops reading (and destroys `source`) once they are through. */
export function limitBytes(source: Readable, length: number): Readable {
  async function* take(): AsyncGenerator<Buffer> {
    let remaining = length;
    for await (const chunk of source as AsyncIterable<Buffer>) {
      if (chunk.length >= remaining) {
        yield chunk.subarray(0, remaining);
        return;
      }
      remaining -= chunk.length;
      yield chunk;
    }
  }
  return Readable.from(take(), { objectMode: false });
}
