import type { FileHandle } from "node:fs/promises";
import { open, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";

import { CliError, EXIT } from "./errors";
import { formatBytes } from "./format";
import { sha256File } from "./hash";
import { errorFromResponse, header, NetworkError, withRetries } from "./http";
import type { LifeboatHttp } from "./http";
import type { Progress } from "./progress";

export type FileKind = "database" | "volume";

/** The names the Liferay seeds use for a backup's two files. */
export const LOCAL_NAME: Record<FileKind, string> = { database: "database.gz", volume: "volume.tgz" };

const MiB = 1024 * 1024;
export const DEFAULT_CHUNK_SIZE = 16 * MiB;
/** Bounds the resume state (one number per chunk) and the request count for huge files. */
export const MAX_CHUNKS = 10_000;
export const MAX_CONCURRENCY = 10_000;
export const DEFAULT_CONCURRENCY = 4;

/** 16 MiB, or as many whole MiB more as it takes to stay within MAX_CHUNKS chunks. */
export function chooseChunkSize(size: number): number {
  return Math.max(DEFAULT_CHUNK_SIZE, Math.ceil(size / MAX_CHUNKS / MiB) * MiB);
}

export function chunkRange(index: number, chunkSize: number, size: number): { start: number; end: number } {
  const start = index * chunkSize;
  return { start, end: Math.min(size, start + chunkSize) - 1 };
}

/** What `<file>.part.json` holds: enough to tell whether the bytes in `<file>.part` still belong to the same remote file. */
export interface ResumeState {
  version: 1;
  url: string;
  backupId: string;
  kind: FileKind;
  size: number;
  sha256: string;
  etag: string;
  chunkSize: number;
  /** Chunk indexes (0-based) whose bytes are written into the .part file. */
  done: number[];
}

export interface DownloadOptions {
  http: LifeboatHttp;
  backupId: string;
  kind: FileKind;
  /** The final path; `.part` and `.part.json` sit beside it while downloading. */
  dest: string;
  concurrency: number;
  /** Override for tests and odd links; otherwise chooseChunkSize. */
  chunkSize?: number;
  /** From the backup's JSON (files[].sha256): checked against the download's own header. */
  expectedSha256?: string;
  progress: Progress;
  signal?: AbortSignal;
  retryBaseMs?: number;
}

export interface DownloadResult {
  path: string;
  size: number;
  sha256: string;
  /** Chunk indexes fetched by this run (not the ones resumed from a previous one). */
  fetched: number[];
  resumedChunks: number;
  /** The file was already there with the right checksum. */
  alreadyThere: boolean;
}

interface Remote {
  url: string;
  size: number;
  sha256: string;
  etag: string;
}

/** The remote file changed between chunks (If-Range did not match): the bytes so far are from another file. */
class RepresentationChanged extends Error {}

async function describeRemote(opts: DownloadOptions): Promise<Remote> {
  const url = `/backup/download/${opts.kind}/${opts.backupId}`;
  const what = `Downloading the ${opts.kind} file of ${opts.backupId}`;
  const res = await withRetries(
    async () => {
      const answer = await opts.http.request({ method: "HEAD", path: url, signal: opts.signal });
      if (answer.statusCode !== 200) throw await errorFromResponse(answer, what);
      answer.resume();
      return answer;
    },
    { signal: opts.signal, baseDelayMs: opts.retryBaseMs },
  );
  const size = Number(header(res.headers, "content-length"));
  const sha256 = header(res.headers, "x-lifeboat-sha256")?.toLowerCase();
  const etag = header(res.headers, "etag");
  if (!Number.isSafeInteger(size) || size < 0 || !sha256 || !/^[0-9a-f]{64}$/.test(sha256) || !etag) {
    throw new CliError(`${what}: the server did not describe the file (size, ETag, X-Lifeboat-SHA256). Is it a Lifeboat server?`, EXIT.unexpected);
  }
  if (opts.expectedSha256 && opts.expectedSha256.toLowerCase() !== sha256) {
    throw new CliError(
      `The ${opts.kind} file of ${opts.backupId} is announced with SHA-256 ${sha256}, but the backup's manifest says ${opts.expectedSha256}.`,
      EXIT.verification,
    );
  }
  return { url, size, sha256, etag };
}

async function readState(file: string): Promise<ResumeState | null> {
  try {
    const state = JSON.parse(await readFile(file, "utf8")) as ResumeState;
    return state?.version === 1 && Array.isArray(state.done) ? state : null;
  } catch {
    return null;
  }
}

async function fileSize(file: string): Promise<number | null> {
  try {
    return (await stat(file)).size;
  } catch {
    return null;
  }
}

/** Rewrites the state file after chunks finish, at most one write at a time, never losing the last change. */
class StateWriter {
  #dirty = false;
  #running: Promise<void> | null = null;

  constructor(
    readonly file: string,
    readonly snapshot: () => ResumeState,
  ) {}

  save(): void {
    this.#dirty = true;
    this.#running ??= this.#loop().finally(() => {
      this.#running = null;
    });
  }

  async #loop(): Promise<void> {
    while (this.#dirty) {
      this.#dirty = false;
      const temp = `${this.file}.tmp`;
      await writeFile(temp, JSON.stringify(this.snapshot()));
      await rename(temp, this.file);
    }
  }

  async flush(): Promise<void> {
    while (this.#running) await this.#running;
  }
}

/**
 * One file of a backup, fetched in byte ranges by `concurrency` workers and
 * written in place into `<dest>.part`. `<dest>.part.json` records the
 * finished chunks with the file's ETag: a rerun fetches only the missing
 * chunks as long as the server still has the same bytes, else starts over.
 * At the end the whole file's SHA-256 must match the server's, or nothing
 * is kept (exit 6); only then is `.part` renamed to `dest`.
 */
export async function downloadBackupFile(opts: DownloadOptions): Promise<DownloadResult> {
  const remote = await describeRemote(opts);
  const name = path.basename(opts.dest);

  if ((await fileSize(opts.dest)) === remote.size && (await sha256File(opts.dest)) === remote.sha256) {
    opts.progress.log(`${name} is already here with the right SHA-256; not downloading it again.`);
    return { path: opts.dest, size: remote.size, sha256: remote.sha256, fetched: [], resumedChunks: 0, alreadyThere: true };
  }

  for (let attempt = 0; ; attempt++) {
    try {
      return await transfer(opts, remote, name);
    } catch (error) {
      if (!(error instanceof RepresentationChanged) || attempt > 0) {
        if (error instanceof RepresentationChanged) {
          throw new CliError(`The ${opts.kind} file of ${opts.backupId} keeps changing on the server while it is downloaded.`, EXIT.conflict);
        }
        throw error;
      }
      opts.progress.log(`${name} changed on the server during the download; starting over.`);
      Object.assign(remote, await describeRemote(opts));
      await rm(`${opts.dest}.part.json`, { force: true });
    }
  }
}

async function transfer(opts: DownloadOptions, remote: Remote, name: string): Promise<DownloadResult> {
  const partFile = `${opts.dest}.part`;
  const stateFile = `${opts.dest}.part.json`;
  const chunkSize = opts.chunkSize ?? chooseChunkSize(remote.size);
  const chunkCount = Math.ceil(remote.size / chunkSize);

  const previous = await readState(stateFile);
  const partSize = await fileSize(partFile);
  const resumable =
    previous !== null &&
    previous.backupId === opts.backupId &&
    previous.kind === opts.kind &&
    previous.size === remote.size &&
    previous.sha256 === remote.sha256 &&
    previous.etag === remote.etag &&
    previous.chunkSize === chunkSize &&
    partSize === remote.size;
  if (previous && !resumable) {
    opts.progress.log(
      previous.etag !== remote.etag || previous.size !== remote.size
        ? `${name}: the file on the server is not the one the interrupted download fetched (ETag ${previous.etag} → ${remote.etag}); starting over.`
        : `${name}: the interrupted download cannot be resumed with these settings; starting over.`,
    );
  }
  const done = new Set<number>(resumable ? previous.done.filter((i) => Number.isInteger(i) && i >= 0 && i < chunkCount) : []);
  const resumedChunks = done.size;

  let handle: FileHandle;
  if (resumable) {
    handle = await open(partFile, "r+");
    opts.progress.log(`${name}: resuming, ${resumedChunks} of ${chunkCount} chunks already here.`);
  } else {
    handle = await open(partFile, "w");
    await handle.truncate(remote.size);
  }

  const state = new StateWriter(stateFile, () => ({
    version: 1,
    url: remote.url,
    backupId: opts.backupId,
    kind: opts.kind,
    size: remote.size,
    sha256: remote.sha256,
    etag: remote.etag,
    chunkSize,
    done: [...done].sort((a, b) => a - b),
  }));
  state.save();

  const resumedBytes = [...done].reduce((sum, i) => {
    const { start, end } = chunkRange(i, chunkSize, remote.size);
    return sum + end - start + 1;
  }, 0);
  const bar = opts.progress.bar(name, remote.size, resumedBytes);
  const missing: number[] = [];
  for (let i = 0; i < chunkCount; i++) if (!done.has(i)) missing.push(i);
  const fetched: number[] = [];

  // Workers pull the next missing chunk; the first failure stops the others from taking new ones.
  let next = 0;
  let failure: unknown = null;
  const worker = async () => {
    while (failure === null && next < missing.length) {
      if (opts.signal?.aborted) return;
      const index = missing[next++]!;
      try {
        await fetchChunk(opts, remote, handle, index, chunkSize, bar);
        done.add(index);
        fetched.push(index);
        state.save();
      } catch (error) {
        failure ??= error;
      }
    }
  };
  const workers = Math.max(1, Math.min(opts.concurrency, missing.length));
  try {
    await Promise.all(Array.from({ length: workers }, worker));
  } finally {
    await state.flush();
    await handle.close();
  }
  if (failure === null && opts.signal?.aborted) failure = opts.signal.reason;
  if (failure !== null) throw failure;

  bar.update(remote.size);
  const sha256 = await sha256File(partFile);
  if (sha256 !== remote.sha256) {
    // The bytes on disk are not the file: keeping them would only make the next run resume into the same mistake.
    await rm(partFile, { force: true });
    await rm(stateFile, { force: true });
    throw new CliError(
      `${name} failed verification: its SHA-256 is ${sha256}, but the server says ${remote.sha256}. The partial file was removed; run the command again.`,
      EXIT.verification,
    );
  }
  await rename(partFile, opts.dest);
  await rm(stateFile, { force: true });
  bar.done(`${formatBytes(remote.size)}, SHA-256 verified`);
  return { path: opts.dest, size: remote.size, sha256, fetched, resumedChunks, alreadyThere: false };
}

async function fetchChunk(
  opts: DownloadOptions,
  remote: Remote,
  handle: FileHandle,
  index: number,
  chunkSize: number,
  bar: { add(delta: number): void },
): Promise<void> {
  const { start, end } = chunkRange(index, chunkSize, remote.size);
  const expected = end - start + 1;
  await withRetries(
    async () => {
      let written = 0;
      try {
        const res = await opts.http.request({
          method: "GET",
          path: remote.url,
          headers: { range: `bytes=${start}-${end}`, "if-range": remote.etag, "accept-encoding": "identity" },
          signal: opts.signal,
        });
        if (res.statusCode === 200) {
          res.destroy();
          throw new RepresentationChanged();
        }
        if (res.statusCode !== 206) throw await errorFromResponse(res, `Downloading bytes ${start}-${end} of ${path.basename(opts.dest)}`);
        const contentRange = header(res.headers, "content-range");
        if (contentRange !== `bytes ${start}-${end}/${remote.size}`) {
          res.destroy();
          throw new RepresentationChanged();
        }
        try {
          for await (const piece of res) {
            const bytes = piece as Buffer;
            if (written + bytes.length > expected) throw new NetworkError(`The server sent more than the ${expected} bytes asked for.`);
            await handle.write(bytes, 0, bytes.length, start + written);
            written += bytes.length;
            bar.add(bytes.length);
          }
        } catch (error) {
          if (error instanceof CliError || opts.signal?.aborted) throw error;
          throw new NetworkError(`The connection broke while downloading ${path.basename(opts.dest)}: ${(error as Error).message}.`);
        }
        if (written !== expected) throw new NetworkError(`The connection closed after ${written} of ${expected} bytes of a chunk.`);
      } catch (error) {
        bar.add(-written); // sent again from the start of the chunk
        throw error;
      }
    },
    {
      signal: opts.signal,
      baseDelayMs: opts.retryBaseMs,
      onRetry: (error) => opts.progress.log(`Retrying bytes ${start}-${end} of ${path.basename(opts.dest)}: ${(error as Error).message}`),
    },
  );
}
