import { availableParallelism } from "node:os";
import { Transform } from "node:stream";
import type { TransformCallback } from "node:stream";
import { constants, crc32, deflateRaw } from "node:zlib";
import type { ZlibOptions } from "node:zlib";

const BLOCK_BYTES = 1024 * 1024;
// Deflate looks back at most 32 KiB, so priming each block with the previous block's tail loses (almost) no ratio.
const DICTIONARY_BYTES = 32 * 1024;
/** mtime 0 (a dump's time is in its manifest), no flags, OS 3 (Unix), as `gzip -n` writes. */
const HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03]);
/** An empty final block (BFINAL=1, fixed Huffman, end-of-block): closes the deflate stream. */
const FINAL_BLOCK = Buffer.from([0x03, 0x00]);

function compress(block: Buffer, options: ZlibOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => deflateRaw(block, options, (error, result) => (error ? reject(error) : resolve(result))));
}

/**
 * gzip on several cores, as pigz does: the input is cut into 1 MiB blocks,
 * each deflated on libuv's thread pool with the previous block's last 32 KiB
 * as dictionary and ended by a sync flush, so the pieces join into ONE
 * standard gzip member (any gunzip reads it; the CRC-32 and length in the
 * trailer cover the whole input). At most `parallelism` blocks are in
 * flight, so memory stays at a few MiB whatever the input size.
 */
export class ParallelGzip extends Transform {
  readonly #level: number;
  readonly #parallelism: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #previousTail: Buffer | null = null;
  #inFlight: Promise<Buffer>[] = [];
  #crc = 0;
  #length = 0;
  #started = false;

  constructor({ level, parallelism = Math.max(2, availableParallelism()) }: { level: number; parallelism?: number }) {
    super();
    this.#level = level;
    this.#parallelism = parallelism;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (!this.#started) {
      this.#started = true;
      this.push(HEADER);
    }
    this.#crc = crc32(chunk, this.#crc);
    this.#length += chunk.length;
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    if (this.#pendingBytes < BLOCK_BYTES) return callback();
    this.#dispatch()
      .then(() => callback())
      .catch((error: Error) => callback(error));
  }

  override _flush(callback: TransformCallback): void {
    if (!this.#started) this.push(HEADER);
    this.#dispatch()
      .then(() => this.#drain(0))
      .then(() => {
        const trailer = Buffer.alloc(8);
        trailer.writeUInt32LE(this.#crc >>> 0, 0);
        trailer.writeUInt32LE(this.#length % 2 ** 32, 4);
        this.push(FINAL_BLOCK);
        this.push(trailer);
        callback();
      })
      .catch((error: Error) => callback(error));
  }

  /** Starts compressing what is pending, then waits while too many blocks are in flight. */
  async #dispatch(): Promise<void> {
    if (this.#pendingBytes > 0) {
      const block = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending, this.#pendingBytes);
      this.#pending = [];
      this.#pendingBytes = 0;
      const options: ZlibOptions = { level: this.#level, finishFlush: constants.Z_SYNC_FLUSH };
      if (this.#previousTail) options.dictionary = this.#previousTail;
      // A copy: the tail must not pin the whole block, nor change if the source reuses its buffer.
      this.#previousTail = Buffer.from(block.subarray(Math.max(0, block.length - DICTIONARY_BYTES)));
      const compressed = compress(block, options);
      compressed.catch(() => undefined); // awaited in order by #drain; this only avoids an unhandled rejection meanwhile
      this.#inFlight.push(compressed);
    }
    await this.#drain(this.#parallelism - 1);
  }

  /** Pushes finished blocks in order until at most `keep` are in flight. */
  async #drain(keep: number): Promise<void> {
    while (this.#inFlight.length > keep) {
      this.push(await this.#inFlight.shift()!);
    }
  }
}
