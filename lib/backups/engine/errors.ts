/**
 * A backup failure whose message is written for the person looking at the
 * Backups page (it becomes the backup's status reason). Anything else thrown
 * while making a backup is an internal error: logged, and reported vaguely.
 */
export class BackupError extends Error {
  override readonly name = "BackupError";
}

export function isBackupError(error: unknown): error is BackupError {
  return error instanceof BackupError;
}
