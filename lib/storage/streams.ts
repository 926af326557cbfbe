import { close, fsync, open, write, writev } from "node:fs";
import { Readable, Transform, Writable, type TransformCallback } from "node:stream";
import { StorageError } from "./errors";

// Room for several socket reads (64 KiB each) while a write is in flight, so they go out as one writev.
const FILE_WRITE_BUFFER_BYTES = 1024 * 1024;

function sizeMismatch(expected: number, actual: string): StorageError {
  return new StorageError("size_mismatch", `expected ${expected} bytes, the stream delivered ${actual}`);
}

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
    return sizeMismatch(this.#expected, actual);
  }
}

/**
 * Writes a stream of exactly `expected` bytes into a new file at `path`,
 * then fsyncs it: the file is complete and durable once the stream
 * finishes. Any other length fails with `size_mismatch`, a surplus as soon
 * as it arrives. The caller removes the file after a failure.
 *
 * Not a Transform in front of fs.WriteStream: every stage between the
 * socket and the disk costs a buffer hand-over per chunk. This is the whole
 * stage: chunks buffered while a write is in flight go out as one writev, on
 * callbacks rather than a promise per chunk (promises are what Next's
 * AsyncLocalStorage makes expensive on Node 20).
 */
export class ExactSizeFileWriter extends Writable {
  readonly #path: string;
  readonly #expected: number;
  #fd: number | null = null;
  #written = 0;
  /** Set while a write is in the thread pool: the descriptor must outlive it, or a reused fd number could receive its bytes. */
  #whenIdle: (() => void) | null = null;
  #busy = false;

  constructor(path: string, expected: number) {
    super({ highWaterMark: FILE_WRITE_BUFFER_BYTES });
    this.#path = path;
    this.#expected = expected;
  }

  /** Bytes handed to the file so far. */
  get bytesWritten(): number {
    return this.#written;
  }

  override _construct(callback: (error?: Error | null) => void): void {
    // "wx": a part file is always new; finding one there means a name collision, not something to overwrite.
    open(this.#path, "wx", (error, fd) => {
      if (!error) this.#fd = fd;
      callback(error);
    });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (!this.#accept(chunk.length, callback)) return;
    this.#io(callback, (done) => write(this.#fd!, chunk, 0, chunk.length, null, (error, bytes) => done(error, bytes, chunk.length)));
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    let total = 0;
    const buffers = chunks.map(({ chunk }) => {
      total += chunk.length;
      return chunk;
    });
    if (!this.#accept(total, callback)) return;
    this.#io(callback, (done) => writev(this.#fd!, buffers, (error, bytes) => done(error, bytes, total)));
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.#written !== this.#expected) return callback(sizeMismatch(this.#expected, String(this.#written)));
    this.#io(callback, (done) => fsync(this.#fd!, (error) => done(error, 0, 0)));
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const closeFile = () => {
      const fd = this.#fd;
      this.#fd = null;
      if (fd === null) return callback(error);
      close(fd, (closeError) => callback(error ?? closeError));
    };
    if (this.#busy) this.#whenIdle = closeFile;
    else closeFile();
  }

  #accept(length: number, callback: (error?: Error | null) => void): boolean {
    if (this.#written + length > this.#expected) {
      callback(sizeMismatch(this.#expected, `more than ${this.#expected}`));
      return false;
    }
    this.#written += length;
    return true;
  }

  #io(callback: (error?: Error | null) => void, start: (done: (error: NodeJS.ErrnoException | null, bytes: number, wanted: number) => void) => void): void {
    this.#busy = true;
    start((error, bytes, wanted) => {
      this.#busy = false;
      const idle = this.#whenIdle;
      this.#whenIdle = null;
      // libuv retries short writes itself; a shortfall here would mean a lost byte, so it is an error.
      callback(error ?? (bytes === wanted ? null : new Error(`wrote ${bytes} of ${wanted} bytes to ${this.#path}`)));
      idle?.();
    });
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
