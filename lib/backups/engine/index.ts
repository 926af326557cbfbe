export {
  ABANDONED_BACKUP_REASON,
  backupObjectKey,
  createBackupJobHandler,
  CREATE_BACKUP_QUEUE,
  FILE_NAMES,
  missingBackupSource,
  runCreateBackup,
} from "./create-backup";
export type { BackupEngineDeps, CreateBackupPayload } from "./create-backup";
export { BackupError, isBackupError } from "./errors";
export { requestBackup } from "./request";
export type { RequestBackupInput } from "./request";
export { BACKUP_GZIP_LEVEL } from "./stream-to-storage";
