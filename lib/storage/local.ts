import { randomBytes, randomUUID } from "node:crypto";
import { createWriteStream, type Stats } from "node:fs";
import { mkdir, open, readdir, readFile, readlink, rename, rm, rmdir, stat, symlink, unlink, writeFile, type FileHandle } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { StorageError, isStorageError } from "./errors";
import { ExactSizeFileWriter } from "./streams";
import type {
  AbortMultipartUploadInput,
  ByteRange,
  CompleteMultipartUploadInput,
  LocalStorageConfig,
  ObjectInfo,
  Storage,
  UploadedPart,
  UploadPartInput,
} from "./types";
import {
  assertRangeWithin,
  assertValidKey,
  assertValidPartList,
  assertValidPartNumber,
  assertValidPrefix,
  assertValidRangeShape,
  assertValidSize,
  normalizeEtag,
} from "./validation";

// Large sequential reads: fewer syscalls than the 64 KiB default, still a bounded buffer.
const READ_CHUNK_BYTES = 1024 * 1024;
const UPLOAD_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const UPLOAD_MANIFEST = "upload.json";
/** A part's etag: 128 random bits, chosen when the part is written and kept in its file name. */
const PART_TOKEN_PATTERN = /^[0-9a-f]{32}$/;

interface UploadManifest {
  key: string;
  createdAt: string;
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

/** ENOTDIR: some ancestor of the path is a regular file, so the path cannot exist either. */
function isMissing(error: unknown): boolean {
  const code = errorCode(error);
  return code === "ENOENT" || code === "ENOTDIR";
}

function partFileName(partNumber: number): string {
  return `part-${String(partNumber).padStart(5, "0")}`;
}

function toInfo(key: string, stats: Stats): ObjectInfo {
  return { key, size: stats.size, lastModified: stats.mtime };
}

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/** A new part file's name: the part number, then the token that becomes its etag. */
function newPartFile(partNumber: number): { token: string; name: string } {
  const token = randomBytes(16).toString("hex");
  return { token, name: `${partFileName(partNumber)}.${token}` };
}

function partMismatch(partNumber: number, why: string): StorageError {
  return new StorageError("part_mismatch", `part ${partNumber} ${why}`);
}

/**
 * Appends all of `source` to `target`, through two buffers used in turn (one
 * is read into while the other is written out). No buffer per chunk, so no
 * garbage for the collector, and one promise per MiB rather than per chunk.
 */
async function appendFile(source: FileHandle, target: FileHandle, buffers: readonly [Buffer, Buffer]): Promise<void> {
  let writing: Promise<unknown> = Promise.resolve();
  for (let turn = 0; ; turn ^= 1) {
    const buffer = buffers[turn]!;
    const { bytesRead } = await source.read(buffer, 0, buffer.length, null);
    await writing; // the write from the other buffer; this buffer's last write finished a turn ago
    if (bytesRead === 0) return;
    writing = target.write(buffer, 0, bytesRead, null).then(({ bytesWritten }) => {
      if (bytesWritten !== bytesRead) throw new Error(`wrote ${bytesWritten} of ${bytesRead} bytes while assembling an object`);
    });
    // Awaited on the next turn; this only keeps a failure from counting as unhandled in between.
    writing.catch(() => {});
  }
}

/**
 * Layout under `root`:
 *   objects/<key>                     finished objects, only ever created by rename
 *   multipart/<uploadId>/upload.json  which key the upload belongs to
 *   multipart/<uploadId>/part-NNNNN.<token>
 *                                     one file per upload of a part; the token is its etag
 *   multipart/<uploadId>/part-NNNNN   symlink to the part's current file, replaced atomically
 *   tmp/                              objects being written; same filesystem, so rename is atomic
 */
export class LocalStorage implements Storage {
  readonly driver = "local" as const;
  readonly #objectsDir: string;
  readonly #multipartDir: string;
  readonly #tmpDir: string;

  constructor(config: Pick<LocalStorageConfig, "root">) {
    const root = path.resolve(config.root);
    this.#objectsDir = path.join(root, "objects");
    this.#multipartDir = path.join(root, "multipart");
    this.#tmpDir = path.join(root, "tmp");
  }

  async createMultipartUpload(key: string): Promise<{ uploadId: string }> {
    assertValidKey(key);
    const uploadId = randomUUID();
    const dir = this.#uploadDir(uploadId);
    await mkdir(dir, { recursive: true });
    const manifest: UploadManifest = { key, createdAt: new Date().toISOString() };
    await writeFile(path.join(dir, UPLOAD_MANIFEST), JSON.stringify(manifest));
    return { uploadId };
  }

  async uploadPart(input: UploadPartInput): Promise<{ etag: string; size: number }> {
    const { key, uploadId, partNumber, body, size } = input;
    assertValidKey(key);
    assertValidPartNumber(partNumber);
    assertValidSize(size);
    const dir = await this.#openUpload(uploadId, key);

    // Each attempt writes its own file, so concurrent uploads of one part number never share one.
    // Its random token is the etag: completion checks it names the current file of that part
    // instead of re-hashing every byte (an MD5 costs ~1.3 CPU-s per GiB).
    const { token, name } = newPartFile(partNumber);
    const file = path.join(dir, name);
    try {
      await pipeline(body, new ExactSizeFileWriter(file, size));
      await this.#makeCurrent(dir, partNumber, name);
    } catch (error) {
      await rm(file, { force: true });
      throw await this.#explainUploadFailure(uploadId, error);
    }
    return { etag: token, size };
  }

  async completeMultipartUpload(input: CompleteMultipartUploadInput): Promise<ObjectInfo> {
    const { key, uploadId, parts } = input;
    assertValidKey(key);
    assertValidPartList(parts);
    const dir = await this.#openUpload(uploadId, key);
    const files = await this.#currentPartFiles(dir, parts);

    const tmp = await this.#tempPath();
    let stats: Stats;
    try {
      const target = await open(tmp, "wx");
      try {
        const buffers = [Buffer.allocUnsafeSlow(READ_CHUNK_BYTES), Buffer.allocUnsafeSlow(READ_CHUNK_BYTES)] as const;
        for (const [index, part] of parts.entries()) {
          const source = await this.#openPartFile(path.join(dir, files[index]!), part.partNumber);
          try {
            await appendFile(source, target, buffers);
          } finally {
            await source.close();
          }
        }
        await target.sync();
        stats = await target.stat();
      } finally {
        await target.close();
      }
      await this.#moveIntoPlace(tmp, key);
    } catch (error) {
      await rm(tmp, { force: true });
      throw await this.#explainUploadFailure(uploadId, error);
    }
    await rm(dir, { recursive: true, force: true });
    return toInfo(key, stats);
  }

  async abortMultipartUpload(input: AbortMultipartUploadInput): Promise<void> {
    assertValidKey(input.key);
    try {
      const dir = await this.#openUpload(input.uploadId, input.key);
      await rm(dir, { recursive: true, force: true });
    } catch (error) {
      // Unknown, finished or someone else's upload: nothing of ours to clean up.
      if (!isStorageError(error, "upload_not_found")) throw error;
    }
  }

  async putObject(key: string, body: Readable): Promise<ObjectInfo> {
    assertValidKey(key);
    const tmp = await this.#tempPath();
    try {
      await pipeline(body, createWriteStream(tmp, { flush: true }));
      const stats = await stat(tmp);
      await this.#moveIntoPlace(tmp, key);
      return toInfo(key, stats);
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
  }

  async getObject(key: string, range?: ByteRange): Promise<Readable> {
    assertValidKey(key);
    if (range) assertValidRangeShape(range);
    const handle = await this.#openObject(key);
    try {
      const { size } = await handle.stat();
      if (range) assertRangeWithin(range, size);
      // The stream owns the handle from here on and closes it when it ends or is destroyed.
      return handle.createReadStream({ start: range?.start, end: range?.end, highWaterMark: READ_CHUNK_BYTES });
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /**
   * The object as an open file, which the caller closes. For readers that
   * bring their own buffers (downloads reuse two): a read stream allocates one
   * per chunk, and the garbage collector pays for every one of them.
   */
  async openFile(key: string): Promise<{ handle: FileHandle; size: number }> {
    assertValidKey(key);
    const handle = await this.#openObject(key);
    try {
      return { handle, size: (await handle.stat()).size };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    assertValidKey(key);
    return this.#statFile(key);
  }

  async deleteObject(key: string): Promise<void> {
    assertValidKey(key);
    const file = this.#objectPath(key);
    try {
      await unlink(file);
    } catch (error) {
      // EISDIR: the key names a "directory" of other objects, i.e. no object of its own.
      if (!isMissing(error) && errorCode(error) !== "EISDIR") throw error;
      return;
    }
    await this.#pruneEmptyParents(path.dirname(file));
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    assertValidPrefix(prefix);
    const lastSlash = prefix.lastIndexOf("/");
    yield* this.#walk(lastSlash === -1 ? "" : prefix.slice(0, lastSlash), prefix);
  }

  /**
   * Depth-first, each directory sorted with a trailing "/" on subdirectory
   * names: that yields keys in plain byte order ("a.txt" before "a/b"), the
   * order S3 lists in.
   */
  async *#walk(dirKey: string, prefix: string): AsyncGenerator<ObjectInfo> {
    let entries;
    try {
      entries = await readdir(this.#objectPath(dirKey), { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    const sorted = entries
      .filter((entry) => entry.isFile() || entry.isDirectory())
      .map((entry) => ({ entry, sortName: entry.isDirectory() ? `${entry.name}/` : entry.name }))
      .sort((a, b) => compareUtf8(a.sortName, b.sortName));

    for (const { entry } of sorted) {
      const key = dirKey === "" ? entry.name : `${dirKey}/${entry.name}`;
      if (entry.isDirectory()) {
        const asPrefix = `${key}/`;
        if (asPrefix.startsWith(prefix) || prefix.startsWith(asPrefix)) yield* this.#walk(key, prefix);
      } else if (key.startsWith(prefix)) {
        const info = await this.#statFile(key); // null if deleted since readdir
        if (info) yield info;
      }
    }
  }

  #objectPath(key: string): string {
    return key === "" ? this.#objectsDir : path.join(this.#objectsDir, ...key.split("/"));
  }

  #uploadDir(uploadId: string): string {
    return path.join(this.#multipartDir, uploadId);
  }

  async #tempPath(): Promise<string> {
    await mkdir(this.#tmpDir, { recursive: true });
    return path.join(this.#tmpDir, randomUUID());
  }

  async #statFile(key: string): Promise<ObjectInfo | null> {
    try {
      const stats = await stat(this.#objectPath(key));
      return stats.isFile() ? toInfo(key, stats) : null;
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  /** Opening before checking the size means a concurrent delete cannot slip in between. */
  async #openObject(key: string): Promise<FileHandle> {
    let handle: FileHandle;
    try {
      handle = await open(this.#objectPath(key), "r");
    } catch (error) {
      if (isMissing(error) || errorCode(error) === "EISDIR") throw notFound(key);
      throw error;
    }
    if (!(await handle.stat()).isFile()) {
      await handle.close();
      throw notFound(key);
    }
    return handle;
  }

  /** Returns the upload's directory; the id must exist and belong to `key`, as in S3. */
  async #openUpload(uploadId: string, key: string): Promise<string> {
    // The id becomes a path segment, so only our own UUID format gets near the filesystem.
    if (typeof uploadId !== "string" || !UPLOAD_ID_PATTERN.test(uploadId)) throw uploadNotFound(uploadId);
    const dir = this.#uploadDir(uploadId);
    let manifest: Partial<UploadManifest>;
    try {
      manifest = JSON.parse(await readFile(path.join(dir, UPLOAD_MANIFEST), "utf8")) as Partial<UploadManifest>;
    } catch (error) {
      if (isMissing(error) || error instanceof SyntaxError) throw uploadNotFound(uploadId);
      throw error;
    }
    if (manifest.key !== key) throw uploadNotFound(uploadId);
    return dir;
  }

  /**
   * Points `part-NNNNN` at the file just written (rename over the old link is
   * atomic: the last upload to finish is the current one, as in S3), then
   * removes the file it replaces. A file that has been replaced can never
   * become current again, so removing it is safe even while other uploads of
   * the same part finish; at worst a racing upload's file stays until the
   * upload's folder goes.
   */
  async #makeCurrent(dir: string, partNumber: number, name: string): Promise<void> {
    const link = path.join(dir, partFileName(partNumber));
    const replaced = await readlink(link).catch((error: unknown) => {
      if (isMissing(error) || errorCode(error) === "EINVAL") return null; // EINVAL: not a link, nothing of ours to remove
      throw error;
    });
    const staged = path.join(dir, `${name}.link`);
    try {
      await symlink(name, staged);
      await rename(staged, link);
    } catch (error) {
      await rm(staged, { force: true });
      throw error;
    }
    if (replaced !== null && replaced !== name && replaced === path.basename(replaced)) {
      // The new part is in place and must stay; a file that will not go now goes with the upload's folder.
      await rm(path.join(dir, replaced), { force: true }).catch(() => {});
    }
  }

  /**
   * The file name behind each part, checked before anything is written: the
   * etag the caller kept must name the part's current file, not an upload of
   * that part number that has since been replaced.
   */
  async #currentPartFiles(dir: string, parts: readonly UploadedPart[]): Promise<string[]> {
    const files: string[] = [];
    for (const { partNumber, etag } of parts) {
      const token = normalizeEtag(etag);
      // The token becomes part of a path, so nothing but our own format gets near the filesystem.
      if (!PART_TOKEN_PATTERN.test(token)) throw partMismatch(partNumber, "has an etag this upload never issued");
      let current: string;
      try {
        current = await readlink(path.join(dir, partFileName(partNumber)));
      } catch (error) {
        if (isMissing(error) || errorCode(error) === "EINVAL") throw partMismatch(partNumber, "was never uploaded");
        throw error;
      }
      const expected = `${partFileName(partNumber)}.${token}`;
      if (current !== expected) throw partMismatch(partNumber, "was uploaded again since that etag was issued");
      files.push(expected);
    }
    return files;
  }

  /** Opening is what pins the bytes: a re-upload that replaces this file from now on cannot change what is read. */
  async #openPartFile(file: string, partNumber: number): Promise<FileHandle> {
    try {
      return await open(file, "r");
    } catch (error) {
      if (isMissing(error)) throw partMismatch(partNumber, "was uploaded again while the upload was completing");
      throw error;
    }
  }

  /** An upload aborted or completed underneath us surfaces as ENOENT somewhere; report what actually happened. */
  async #explainUploadFailure(uploadId: string, error: unknown): Promise<unknown> {
    if (error instanceof StorageError || !isMissing(error)) return error;
    try {
      await stat(path.join(this.#uploadDir(uploadId), UPLOAD_MANIFEST));
      return error;
    } catch {
      return uploadNotFound(uploadId);
    }
  }

  async #moveIntoPlace(tmp: string, key: string): Promise<void> {
    const target = this.#objectPath(key);
    for (let attempt = 1; ; attempt++) {
      try {
        await mkdir(path.dirname(target), { recursive: true });
        await rename(tmp, target);
        return;
      } catch (error) {
        // A concurrent delete may prune the directory between mkdir and rename.
        if (errorCode(error) === "ENOENT" && attempt < 3) continue;
        if (["ENOTDIR", "EISDIR", "EEXIST", "ENOTEMPTY"].includes(errorCode(error) ?? "")) {
          // A filesystem cannot hold both "a" and "a/b"; S3 can, but our keys never need to.
          throw new StorageError("invalid_key", `key ${JSON.stringify(key)} collides with an existing object path`, { cause: error });
        }
        throw error;
      }
    }
  }

  /** Keeps deleted backups from leaving a trail of empty directories behind. */
  async #pruneEmptyParents(dir: string): Promise<void> {
    let current = dir;
    while (current.startsWith(this.#objectsDir + path.sep)) {
      try {
        await rmdir(current);
      } catch {
        return; // not empty (or already gone): the parents are not empty either
      }
      current = path.dirname(current);
    }
  }
}

function notFound(key: string): StorageError {
  return new StorageError("not_found", `object ${JSON.stringify(key)} does not exist`);
}

function uploadNotFound(uploadId: string): StorageError {
  return new StorageError("upload_not_found", `multipart upload ${JSON.stringify(uploadId)} does not exist`);
}
