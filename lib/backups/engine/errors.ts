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

const OUT_OF_SPACE = new Set(["ENOSPC", "EDQUOT"]);

/** The error itself, or the first in its `cause` chain, with a Node error code. */
function errnoCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 5; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === "string") return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * A failure a person can act on, as a BackupError: BackupErrors as they are,
 * and a full disk or quota (ENOSPC, EDQUOT) said in words. Null for anything
 * else, which stays an internal error.
 */
export function readableBackupFailure(error: unknown, what = "this backup"): BackupError | null {
  if (isBackupError(error)) return error;
  if (OUT_OF_SPACE.has(errnoCode(error) ?? "")) {
    return new BackupError(
      `The disk Lifeboat stores backups on ran out of space while writing ${what}; what was written has been deleted. Free some space (or keep fewer backups) and try again.`,
      { cause: error },
    );
  }
  return null;
}
