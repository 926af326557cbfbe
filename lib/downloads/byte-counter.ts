import { Transform } from "node:stream";
import type { TransformCallback } from "node:stream";

export class LengthMismatchError extends Error {
  constructor(expected: number, actual: string) {
    super(`storage delivered ${actual} bytes where ${expected} were expected`);
    this.name = "LengthMismatchError";
  }
}

/**
 * Counts the bytes on their way to the response, for the audit log, and
 * fails the transfer if storage delivers more or fewer than the
 * Content-Length already promised: Node would otherwise end the response
 * short and the client would wait for bytes that never come.
 */
export class ByteCounter extends Transform {
  readonly #expected: number;
  #bytes = 0;

  constructor(expected: number) {
    super();
    this.#expected = expected;
  }

  get bytes(): number {
    return this.#bytes;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.#bytes + chunk.length > this.#expected) {
      return callback(new LengthMismatchError(this.#expected, `more than ${this.#expected}`));
    }
    this.#bytes += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    callback(this.#bytes === this.#expected ? null : new LengthMismatchError(this.#expected, String(this.#bytes)));
  }
}
