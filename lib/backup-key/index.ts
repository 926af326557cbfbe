export { ARCHIVE_ORDER, ArchiveSourceError, backupArchive, manifestFor } from "./archive";
export type { BackupArchive } from "./archive";
export { backupKeyMatches, backupKeyRequestSchema, createBackupKeyHandler, serveBackupKeyDownload } from "./handler";
export type { BackupKeyHandlerOptions, BackupKeyRequest } from "./handler";
