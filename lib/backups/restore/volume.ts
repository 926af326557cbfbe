import type { Stats } from "node:fs";
import { mkdir, rename, rm, stat, statfs } from "node:fs/promises";
import path from "node:path";
import type { Readable, Transform } from "node:stream";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";

import { Unpack } from "tar";
import type { ReadEntry } from "tar";

import { BackupError } from "@/lib/backups/engine/errors";
import { VOLUME_ROOT } from "@/lib/backups/verify";
import { expansionGuard, explainGzipError, gunzip, isExpansionLimitError } from "@/lib/backups/verify/gzip";
import type { ExpansionCheck } from "@/lib/backups/verify/gzip";
import { isVerificationError } from "@/lib/backups/verify/errors";
import { ChecksumMismatchError } from "@/lib/uploads/digest";

/*
 * The document library is restored beside the live folder and swapped in by
 * two renames, so until the swap the environment's folder is untouched:
 *
 *   <volumePath>.lbstage-<id>/document_library   the archive, extracted
 *   <volumePath>.lbold-<id>                      the folder as it was, until the restore is final
 *
 * Siblings, so the renames stay on one file system (rename cannot cross one).
 */

export interface VolumePaths {
  live: string;
  /** The folder the archive is extracted into; the restored library is `staged`, inside it. */
  stage: string;
  staged: string;
  old: string;
}

export function volumePaths(volumePath: string, short: string): VolumePaths {
  const live = path.resolve(volumePath);
  const stage = `${live}.lbstage-${short}`;
  return { live, stage, staged: path.join(stage, VOLUME_ROOT), old: `${live}.lbold-${short}` };
}

const ALLOWED_TYPES = new Set(["File", "OldFile", "ContiguousFile", "Directory", "SymbolicLink", "Link"]);

/** `a/./b/` → ["a", "b"]; null for an absolute path. */
function segments(entryPath: string): string[] | null {
  if (entryPath.startsWith("/") || entryPath.startsWith("\\") || /^[A-Za-z]:/.test(entryPath)) return null;
  return entryPath.split(/[/\\]/).filter((part) => part !== "" && part !== ".");
}

function unsafe(entryPath: string, reason: string): BackupError {
  return new BackupError(`volume.tgz has an unsafe entry ${JSON.stringify(entryPath)}: ${reason}. Nothing was restored; the environment is unchanged.`);
}

/**
 * Why an entry may not be extracted, or null. node-tar on its own would
 * quietly strip a leading `/` or skip a `..` entry and carry on; a restore
 * instead stops and says which entry, since such an archive was not made by
 * Lifeboat nor by `tar -czf volume.tgz document_library`.
 */
export function unsafeEntryReason(entry: Pick<ReadEntry, "path" | "type" | "linkpath">): string | null {
  const parts = segments(entry.path);
  if (!parts) return "it is an absolute path";
  if (parts.includes("..")) return "it contains “..”";
  if (!ALLOWED_TYPES.has(entry.type)) return `it is a ${entry.type}, which a document library cannot hold`;
  if (parts.length > 0 && parts[0] !== VOLUME_ROOT) return `it is outside ${VOLUME_ROOT}/`;
  if (parts.length === 0 && entry.type !== "Directory") return `it is outside ${VOLUME_ROOT}/`;
  const target = entry.linkpath ?? "";
  if (entry.type === "SymbolicLink") {
    if (segments(target) === null) return `it links to the absolute path ${JSON.stringify(target)}`;
    const resolved = path.posix.normalize(path.posix.join(...parts.slice(0, -1), target));
    if (resolved !== VOLUME_ROOT && !resolved.startsWith(`${VOLUME_ROOT}/`)) return `it links to ${JSON.stringify(target)}, outside ${VOLUME_ROOT}/`;
  }
  if (entry.type === "Link") {
    const linkParts = segments(target);
    if (!linkParts || linkParts.includes("..") || linkParts[0] !== VOLUME_ROOT)
      return `it is a hard link to ${JSON.stringify(target)}, outside ${VOLUME_ROOT}/`;
  }
  return null;
}

function explainFsError(error: unknown, where: string): unknown {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === "ENOSPC")
    return new BackupError(`The disk holding ${where} ran out of space while the document library was extracted. Free some space and try again.`, {
      cause: error,
    });
  if (code === "EACCES" || code === "EPERM")
    return new BackupError(`The Lifeboat server may not write to ${where}: ${(error as Error).message}`, { cause: error });
  if (code === "EROFS") return new BackupError(`${where} is on a read-only file system.`, { cause: error });
  return error;
}

/**
 * Fails early when the volume's file system clearly cannot hold the
 * restore: the staged copy needs at least the archive's compressed size
 * (usually more), while the live folder stays until the swap.
 */
export async function checkFreeSpace(volumePath: string, neededBytes: number): Promise<void> {
  const parent = path.dirname(path.resolve(volumePath));
  let free: number;
  try {
    const info = await statfs(parent);
    free = info.bavail * info.bsize;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new BackupError(`The folder ${parent}, where the volume folder ${volumePath} lives, does not exist on the Lifeboat server.`);
    throw error;
  }
  if (free < neededBytes) {
    const mib = (n: number) => `${Math.ceil(n / 1024 / 1024)} MiB`;
    throw new BackupError(
      `There is not enough free disk space beside ${volumePath}: the document library needs at least ${mib(neededBytes)}, but only ${mib(free)} is free.`,
    );
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Removes a folder an interrupted extraction was writing to. node-tar may
 * still finish a file or folder it had started (its writes are not
 * cancellable), which would recreate the path after a single rm; so remove
 * until it stays gone for a few checks (bounded).
 */
async function removeWhenQuiet(dir: string): Promise<void> {
  let quiet = 0;
  for (let round = 0; round < 100 && quiet < 5; round++) {
    await rm(dir, { recursive: true, force: true });
    await sleep(50);
    quiet = (await stat(dir).then(
      () => true,
      () => false,
    ))
      ? 0
      : quiet + 1;
  }
}

async function liveOwner(live: string): Promise<{ uid: number; gid: number } | Record<string, never>> {
  if (process.getuid?.() !== 0) return {};
  try {
    const info = await stat(live);
    return { uid: info.uid, gid: info.gid };
  } catch {
    return {};
  }
}

/**
 * Extracts a gzipped `volume.tgz` stream into `paths.stage` (created fresh;
 * it must not exist). Every entry is checked before it is written (see
 * unsafeEntryReason), and node-tar runs in strict mode, so anything it
 * would only warn about — a bad checksum, a cut-short archive, a path
 * through a symbolic link — fails the restore too.
 */
export async function extractVolume(input: {
  source: Readable;
  transforms?: Transform[];
  paths: VolumePaths;
  /** How far the archive may expand (MAX_EXPANDED_SIZE, MAX_EXPANSION_RATIO), judged right after gunzip. */
  expansion: ExpansionCheck;
  signal?: AbortSignal;
}): Promise<void> {
  const { paths } = input;
  try {
    await mkdir(paths.stage, { recursive: false, mode: 0o700 });
  } catch (error) {
    throw explainFsError(error, path.dirname(paths.live));
  }
  let refused: BackupError | null = null;
  const unpack = new Unpack({
    cwd: paths.stage,
    strict: true,
    // The backup stores no owners (portable). Lifeboat running as root gives the restored files the live
    // folder's owner, so the application that owns it can still write there; otherwise they are Lifeboat's own.
    preserveOwner: false,
    ...(await liveOwner(paths.live)),
    filter: (_path: string, entry: ReadEntry | Stats) => {
      if (refused) return false;
      const reason = unsafeEntryReason(entry as ReadEntry);
      if (!reason) return true;
      refused = unsafe((entry as ReadEntry).path, reason);
      stop();
      sink.destroy(refused);
      return false;
    },
  });
  /*
   * node-tar keeps writing the entries it has already parsed after an error
   * or abort, and abort() does not stop that. A depth limit of 0 does: every
   * entry it has not started is then skipped (node-tar checks the depth of
   * each entry as it comes to it).
   */
  const stop = () => {
    unpack.maxDepth = 0;
  };
  const done = new Promise<void>((resolve, reject) => {
    unpack.on("error", (error: Error) => reject(error));
    unpack.on("close", () => resolve());
  });
  done.catch(() => undefined);
  // Unpack is a Minipass stream; a Writable in front gives stream.pipeline backpressure and error handling.
  const sink = new Writable({
    highWaterMark: 1024 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      if (unpack.write(chunk)) return callback();
      unpack.once("drain", () => callback());
    },
    final(callback) {
      unpack.end();
      done.then(() => callback(), callback);
    },
  });
  unpack.on("error", (error: Error) => sink.destroy(error));
  try {
    await pipeline([input.source, ...(input.transforms ?? []), gunzip(), expansionGuard("volume.tgz", input.expansion), sink], { signal: input.signal });
    await done;
  } catch (error) {
    stop();
    unpack.abort(error as Error);
    await removeWhenQuiet(paths.stage);
    if (refused) throw refused;
    if (error instanceof ChecksumMismatchError) {
      throw new BackupError(
        `volume.tgz does not match the SHA-256 the backup recorded (it reads as ${error.actual}, not ${error.expected}): it was changed or damaged in storage. Nothing was restored.`,
        { cause: error },
      );
    }
    if (isExpansionLimitError(error)) throw new BackupError(`${error.message} Nothing was restored; the environment is unchanged.`, { cause: error });
    const explained = explainGzipError("volume.tgz", error);
    if (isVerificationError(explained)) throw new BackupError(`${explained.message}. Nothing was restored; the environment is unchanged.`, { cause: error });
    const fs = explainFsError(error, paths.stage);
    if (fs !== error) throw fs;
    const code = (error as NodeJS.ErrnoException).code ?? "";
    if (code.startsWith("TAR_")) {
      throw new BackupError(
        `volume.tgz is not a valid tar archive: ${(error as Error).message.replace(/^TAR_[A-Z_]+: /, "")}. Nothing was restored; the environment is unchanged.`,
        { cause: error },
      );
    }
    throw error;
  }
  if (refused) throw refused;
  try {
    if (!(await stat(paths.staged)).isDirectory()) throw new Error("not a folder");
  } catch {
    throw new BackupError(`volume.tgz holds no ${VOLUME_ROOT} folder, so there is no document library to restore.`);
  }
}

async function exists(target: string): Promise<boolean> {
  try {
    await stat(target);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
}

/**
 * The live folder moves aside and the staged one takes its place: two
 * renames, both on one file system. If the second fails the first is undone.
 * A live folder that does not exist yet is simply created by the swap.
 */
export async function swapVolume(paths: VolumePaths): Promise<void> {
  const hadLive = await exists(paths.live);
  if (hadLive) {
    try {
      await rename(paths.live, paths.old);
    } catch (error) {
      throw explainFsError(error, paths.live);
    }
  }
  try {
    await rename(paths.staged, paths.live);
  } catch (error) {
    if (hadLive) await rename(paths.old, paths.live);
    throw explainFsError(error, paths.live);
  }
  await rm(paths.stage, { recursive: true, force: true });
}

/** Puts the old folder back after a swap (the database swap that follows it failed). */
export async function unswapVolume(paths: VolumePaths): Promise<void> {
  if (!(await exists(paths.old))) return;
  // Half way (the staged folder never moved in), the live path is empty; otherwise it holds the restored copy.
  if (!(await exists(paths.staged))) await rm(paths.live, { recursive: true, force: true });
  await rename(paths.old, paths.live);
}

/** Removes what a restore left beside the folder: the staging folder and, once final, the old folder. */
export async function removeVolumeLeftovers(paths: VolumePaths, { old }: { old: boolean }): Promise<void> {
  await rm(paths.stage, { recursive: true, force: true });
  if (old) await rm(paths.old, { recursive: true, force: true });
}

/**
 * How far a swap got, for a restore whose worker died: "none" (no previous
 * folder kept), "half" (the live folder moved aside, the staged one not yet
 * in its place) or "done".
 */
export async function volumeSwapState(paths: VolumePaths): Promise<"none" | "half" | "done"> {
  if (!(await exists(paths.old))) return "none";
  return (await exists(paths.staged)) || !(await exists(paths.live)) ? "half" : "done";
}
