import type { BackupFile } from "@/lib/db/schema";

export const DOWNLOAD_KINDS = ["database", "volume"] as const;
export type DownloadKind = (typeof DOWNLOAD_KINDS)[number];

export function isDownloadKind(value: string | undefined): value is DownloadKind {
  return (DOWNLOAD_KINDS as readonly (string | undefined)[]).includes(value);
}

/*
 * Both files are gzip streams and are sent as they are stored. Never as
 * `Content-Encoding: gzip`: a browser would unpack it and save a file whose
 * size and checksum no longer match the manifest.
 */
const FILE_SUFFIX: Record<DownloadKind, string> = { database: "database.gz", volume: "volume.tgz" };
const CONTENT_TYPE = "application/gzip";

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** The name the browser saves the file under; it carries the backup ID so downloads never collide. */
export function downloadFileName(backupId: string, kind: DownloadKind): string {
  return `${backupId}-${FILE_SUFFIX[kind]}`;
}

export interface Representation {
  fileName: string;
  size: number;
  sha256: string;
  /** Strong: the bytes of a backup file never change once the backup is completed. */
  etag: string;
  lastModified: Date;
}

export function describeFile(backupId: string, kind: DownloadKind, file: BackupFile, lastModified: Date): Representation | null {
  const sha256 = file.sha256.toLowerCase();
  if (!SHA256_HEX.test(sha256)) return null;
  return { fileName: downloadFileName(backupId, kind), size: file.sizeBytes, sha256, etag: `"${sha256}"`, lastModified };
}

/** Headers that describe the whole file, sent alike on 200, 206 and HEAD. */
export function representationHeaders(rep: Representation): Record<string, string> {
  return {
    "accept-ranges": "bytes",
    "content-type": CONTENT_TYPE,
    // Backup IDs are [a-z0-9-] only (BACKUP_ID_PATTERN), so the quoted form needs no escaping.
    "content-disposition": `attachment; filename="${rep.fileName}"`,
    etag: rep.etag,
    "last-modified": rep.lastModified.toUTCString(),
    "x-lifeboat-sha256": rep.sha256,
    // RFC 9530: the digest of the whole file, also on a 206, so a resumed download can be checked at the end.
    "repr-digest": `sha-256=:${Buffer.from(rep.sha256, "hex").toString("base64")}:`,
    "cache-control": "private, no-store",
    "x-content-type-options": "nosniff",
  };
}
