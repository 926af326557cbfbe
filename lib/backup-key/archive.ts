import { createHash } from "node:crypto";
import { Readable } from "node:stream";

import { Header } from "tar";

import type { BackupWithFiles } from "@/lib/db/queries/backups";
import type { BackupManifest, Environment } from "@/lib/db/schema";
import type { Storage } from "@/lib/storage/types";

/*
 * The backup-key download is one tar (`tar -xf backup.tar`) holding the
 * backup as a restore point: manifest.json, database.gz and volume.tgz,
 * in that order. A tar, not a zip like SysReptor's: its size is known
 * before the first byte (so Content-Length is exact), it needs no central
 * directory at the end, and the two files inside are already compressed.
 */

const BLOCK = 512;
const END_OF_ARCHIVE = 2 * BLOCK;
export const ARCHIVE_ORDER = ["manifest.json", "database.gz", "volume.tgz"] as const;

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** One ustar header; sizes past 8 GiB use the base-256 form GNU tar and bsdtar read. */
function header(name: string, size: number, mtime: Date): Buffer {
  const block = Buffer.alloc(BLOCK);
  new Header({ path: name, type: "File", size, mode: 0o644, mtime, uid: 0, gid: 0, uname: "lifeboat", gname: "lifeboat" }).encode(block, 0);
  return block;
}

/** The manifest as stored, or (for a backup made before manifests) one written from its rows. */
export function manifestFor(backup: BackupWithFiles, environment: Pick<Environment, "projectId" | "name" | "dbEngine">): Record<string, unknown> {
  const stored: BackupManifest | null = backup.manifest;
  const manifest: Record<string, unknown> = stored
    ? { ...stored }
    : {
        version: 1,
        backupId: backup.id,
        createdAt: (backup.completedAt ?? backup.createdAt).toISOString(),
        createdBy: backup.createdBy,
        origin: backup.origin,
        parentId: backup.parentId,
        database: { engine: backup.dbEngine ?? environment.dbEngine, serverVersion: null, dumpTool: null },
        files: backup.files.map((f) => ({ kind: f.kind, name: f.fileName, size: f.sizeBytes, sha256: f.sha256 })),
      };
  return { ...manifest, project: environment.projectId, environment: environment.name };
}

export class ArchiveSourceError extends Error {
  override readonly name = "ArchiveSourceError";
}

export interface BackupArchive {
  /** Exact byte length of `stream`. */
  size: number;
  stream: Readable;
  files: { name: string; size: number; sha256: string }[];
}

/**
 * Streams the archive straight from storage, one file after the other.
 * Each stored file is checked against its recorded size and SHA-256 on the
 * way; a mismatch fails the stream before the end-of-archive blocks, so a
 * client never receives a complete-looking tar with a damaged file in it.
 */
export function backupArchive({
  storage,
  backup,
  environment,
}: {
  storage: Storage;
  backup: BackupWithFiles;
  environment: Pick<Environment, "projectId" | "name" | "dbEngine">;
}): BackupArchive {
  const manifest = Buffer.from(`${JSON.stringify(manifestFor(backup, environment), null, 2)}\n`);
  const mtime = backup.completedAt ?? backup.createdAt;
  const stored = (["database", "volume"] as const).map((kind) => {
    const file = backup.files.find((f) => f.kind === kind);
    if (!file) throw new ArchiveSourceError(`Backup ${backup.id} has no ${kind} file.`);
    return { name: kind === "database" ? "database.gz" : "volume.tgz", file };
  });
  const size =
    BLOCK +
    manifest.length +
    padding(manifest.length) +
    stored.reduce((sum, { file }) => sum + BLOCK + file.sizeBytes + padding(file.sizeBytes), 0) +
    END_OF_ARCHIVE;

  async function* blocks(): AsyncGenerator<Buffer> {
    yield header("manifest.json", manifest.length, mtime);
    yield Buffer.concat([manifest, Buffer.alloc(padding(manifest.length))]);
    for (const { name, file } of stored) {
      yield header(name, file.sizeBytes, mtime);
      const hash = createHash("sha256");
      let bytes = 0;
      for await (const chunk of await storage.getObject(file.storageKey)) {
        const buffer = chunk as Buffer;
        bytes += buffer.length;
        if (bytes > file.sizeBytes) throw new ArchiveSourceError(`${name} of ${backup.id} in storage is larger than the ${file.sizeBytes} bytes recorded.`);
        hash.update(buffer);
        yield buffer;
      }
      const sha256 = hash.digest("hex");
      if (bytes !== file.sizeBytes || sha256 !== file.sha256) {
        throw new ArchiveSourceError(
          `${name} of ${backup.id} in storage is ${bytes} bytes with SHA-256 ${sha256}, not the ${file.sizeBytes} bytes with ${file.sha256} recorded.`,
        );
      }
      if (padding(file.sizeBytes) > 0) yield Buffer.alloc(padding(file.sizeBytes));
    }
    yield Buffer.alloc(END_OF_ARCHIVE);
  }

  return {
    size,
    stream: Readable.from(blocks(), { objectMode: false }),
    files: [
      { name: "manifest.json", size: manifest.length, sha256: createHash("sha256").update(manifest).digest("hex") },
      ...stored.map(({ name, file }) => ({ name, size: file.sizeBytes, sha256: file.sha256 })),
    ],
  };
}
