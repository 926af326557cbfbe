import path from "node:path";
import type { Readable } from "node:stream";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";

import { Parser } from "tar";
import type { ReadEntry } from "tar";

import { VerificationError } from "./errors";
import { expansionGuard, explainGzipError, gunzip, NO_EXPANSION_LIMIT } from "./gzip";
import type { ExpansionCheck } from "./gzip";

/** `cd $LIFERAY_HOME/data && tar -czvf volume.tgz document_library` — the one folder a volume file holds. */
export const VOLUME_ROOT = "document_library";

const BLOCK = 512;
const ALLOWED_TYPES = new Set(["File", "OldFile", "ContiguousFile", "Directory", "SymbolicLink", "Link"]);

export interface VerifyVolumeOptions {
  fileName?: string;
  /** How far the file may expand; unset: no limit (every caller that verifies a stored file sets it). */
  expansion?: ExpansionCheck;
  signal?: AbortSignal;
}

export interface VolumeArchiveReport {
  entries: number;
  files: number;
  directories: number;
  links: number;
  /** Sum of the files' sizes: what a restore writes to disk. */
  contentBytes: number;
  uncompressedBytes: number;
}

/**
 * Reads a whole `volume.tgz` as a stream and checks that it is an intact tar
 * whose every entry stays inside `document_library/`: no absolute paths, no
 * `..`, no links that lead out, nothing but files, folders and links. Throws
 * VerificationError with a message for people; other errors pass through.
 */
export async function verifyVolumeArchive(source: Readable, options: VerifyVolumeOptions = {}): Promise<VolumeArchiveReport> {
  const fileName = options.fileName ?? "volume.tgz";
  const check = new ArchiveCheck(fileName);
  try {
    await pipeline(source, gunzip(), expansionGuard(fileName, options.expansion ?? NO_EXPANSION_LIMIT), check.sink(), { signal: options.signal });
  } catch (error) {
    throw explainGzipError(fileName, error);
  }
  return check.finish();
}

/** `a/./b/` → ["a", "b"]; null for an absolute path, which has no safe reading. */
function segments(entryPath: string): string[] | null {
  if (entryPath.startsWith("/") || entryPath.startsWith("\\") || /^[A-Za-z]:/.test(entryPath)) return null;
  return entryPath.split("/").filter((part) => part !== "" && part !== ".");
}

function quote(value: string): string {
  return JSON.stringify(value);
}

class ArchiveCheck {
  readonly #parser: Parser;
  readonly #symlinks = new Map<string, string>();
  readonly #report: VolumeArchiveReport = { entries: 0, files: 0, directories: 0, links: 0, contentBytes: 0, uncompressedBytes: 0 };
  /** The last block seen, to insist on tar's end-of-archive marker (zero blocks). */
  #lastBlock = Buffer.alloc(0);
  #failure: Error | null = null;
  /** Until the first entry: whether anything but zero blocks has been seen (an empty archive is only zeros). */
  #sawData = false;
  #done: Promise<void>;

  constructor(readonly fileName: string) {
    // strict: every warning (bad checksum, truncated entry, not a tar at all) is an error.
    this.#parser = new Parser({ strict: true });
    this.#done = new Promise<void>((resolve, reject) => {
      this.#parser.on("error", (error: Error) => reject(this.#explainTarError(error)));
      this.#parser.on("end", () => resolve());
    });
    this.#done.catch(() => undefined); // observed through sink(); never an unhandled rejection
    this.#parser.on("entry", (entry: ReadEntry) => {
      try {
        this.#checkEntry(entry);
      } catch (error) {
        this.#failure ??= error as Error;
      }
      entry.resume();
    });
  }

  sink(): Writable {
    const sink = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        if (this.#failure) return callback(this.#failure);
        this.#track(chunk);
        if (this.#parser.write(chunk)) return callback(this.#failure);
        this.#parser.once("drain", () => callback(this.#failure));
      },
      final: (callback) => {
        this.#parser.end();
        this.#done.then(() => callback(this.#failure), callback);
      },
    });
    // A parser error may come while a write waits for "drain", which then never comes.
    this.#parser.on("error", (error: Error) => sink.destroy(this.#explainTarError(error)));
    return sink;
  }

  finish(): VolumeArchiveReport {
    if (this.#failure) throw this.#failure;
    if (this.#report.uncompressedBytes % BLOCK !== 0 || !this.#lastBlock.equals(Buffer.alloc(BLOCK))) {
      throw this.#fail("it ends without tar's end-of-archive marker (the archive is cut short)");
    }
    if (this.#report.entries === 0) {
      throw new VerificationError(this.fileName, `${this.fileName} is empty; it should hold the ${VOLUME_ROOT} folder.`);
    }
    this.#checkLinkChains();
    return this.#report;
  }

  #track(chunk: Buffer): void {
    this.#report.uncompressedBytes += chunk.length;
    if (!this.#sawData && this.#report.entries === 0) this.#sawData = chunk.some((byte) => byte !== 0);
    const tail = chunk.length >= BLOCK ? chunk.subarray(chunk.length - BLOCK) : Buffer.concat([this.#lastBlock, chunk]).subarray(-BLOCK);
    this.#lastBlock = Buffer.from(tail);
  }

  #fail(reason: string): VerificationError {
    return new VerificationError(this.fileName, `${this.fileName} is not a valid tar archive: ${reason}.`);
  }

  #unsafe(entryPath: string, reason: string): VerificationError {
    return new VerificationError(
      this.fileName,
      `${this.fileName} has an unsafe entry ${quote(entryPath)}: ${reason}. A volume file holds only the ${VOLUME_ROOT} folder ` +
        `(cd $LIFERAY_HOME/data && tar -czvf volume.tgz ${VOLUME_ROOT}).`,
    );
  }

  #explainTarError(error: Error): Error {
    if (error instanceof VerificationError) return error;
    const code = (error as NodeJS.ErrnoException).code ?? "";
    const message = error.message.replace(/^TAR_[A-Z_]+: /, "");
    if (this.#report.entries === 0 && !this.#sawData) {
      return new VerificationError(this.fileName, `${this.fileName} is empty; it should hold the ${VOLUME_ROOT} folder.`, { cause: error });
    }
    // Garbage fails the first header's checksum before any entry exists: not a damaged tar, not a tar at all.
    if (this.#report.entries === 0 && (code === "TAR_BAD_ARCHIVE" || code === "TAR_ENTRY_INVALID")) {
      return new VerificationError(this.fileName, `${this.fileName} is not a tar archive (it decompresses, but holds something else).`, { cause: error });
    }
    return new VerificationError(this.fileName, `${this.fileName} is not a valid tar archive: ${message}.`, { cause: error });
  }

  /** Checks a path inside the archive; returns its segments. */
  #insideRoot(entryPath: string, shown: string): string[] {
    const parts = segments(entryPath);
    if (!parts) throw this.#unsafe(shown, "it is an absolute path");
    if (parts.includes("..")) throw this.#unsafe(shown, "it contains “..”");
    return parts;
  }

  #checkEntry(entry: ReadEntry): void {
    this.#report.entries++;
    const parts = this.#insideRoot(entry.path, entry.path);
    if (!ALLOWED_TYPES.has(entry.type)) {
      throw this.#unsafe(entry.path, `it is a ${entry.type}, which a document library cannot hold`);
    }
    const isRootItself = parts.length === 0 && entry.type === "Directory"; // "./", from `tar -C data .`
    if (!isRootItself && parts[0] !== VOLUME_ROOT) throw this.#unsafe(entry.path, `it is outside ${VOLUME_ROOT}/`);
    if (entry.type === "Directory") this.#report.directories++;
    else if (entry.type === "SymbolicLink") this.#checkSymlink(entry, parts);
    else if (entry.type === "Link") this.#checkHardLink(entry);
    else {
      this.#report.files++;
      this.#report.contentBytes += entry.size;
    }
  }

  #checkSymlink(entry: ReadEntry, parts: string[]): void {
    this.#report.links++;
    const target = entry.linkpath ?? "";
    if (segments(target) === null) throw this.#unsafe(entry.path, `it links to the absolute path ${quote(target)}`);
    const resolved = path.posix.normalize(path.posix.join(...parts.slice(0, -1), target));
    if (resolved !== VOLUME_ROOT && !resolved.startsWith(`${VOLUME_ROOT}/`)) {
      throw this.#unsafe(entry.path, `it links to ${quote(target)}, outside ${VOLUME_ROOT}/`);
    }
    this.#symlinks.set(parts.join("/"), target);
  }

  #checkHardLink(entry: ReadEntry): void {
    this.#report.links++;
    const target = entry.linkpath ?? "";
    const parts = segments(target);
    if (!parts) throw this.#unsafe(entry.path, `it is a hard link to the absolute path ${quote(target)}`);
    if (parts.includes("..") || parts[0] !== VOLUME_ROOT) {
      throw this.#unsafe(entry.path, `it is a hard link to ${quote(target)}, outside ${VOLUME_ROOT}/`);
    }
  }

  /**
   * "x → a/.." looks inside on paper, but if `a` is itself a link, `..` is
   * taken from wherever `a` points. Once every link is known, refuse targets
   * that step back out of another link.
   */
  #checkLinkChains(): void {
    for (const [linkPath, target] of this.#symlinks) {
      const walked: string[] = linkPath.split("/").slice(0, -1);
      for (const part of target.split("/")) {
        if (part === "" || part === ".") continue;
        if (part === ".." && this.#symlinks.has(walked.join("/"))) {
          throw this.#unsafe(linkPath, `it links to ${quote(target)}, which steps out of another link with “..”`);
        }
        if (part === "..") walked.pop();
        else walked.push(part);
      }
    }
  }
}
