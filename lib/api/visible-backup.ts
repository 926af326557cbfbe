import type { Actor } from "@/lib/auth/permissions";
import { isEnvironmentVisible } from "@/lib/auth/permissions";
import { BACKUP_ID_PATTERN } from "@/lib/backups/backup-id";
import { getConfig } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import { getBackup } from "@/lib/db/queries/backups";
import { AppError } from "@/lib/errors";

/**
 * The backup behind `/api/v1/backups/{backupId}/…`, if the actor may see it:
 * 400 for something that is not a backup ID, 404 alike for a missing backup
 * and one in an environment the actor has no role in (so neither is revealed).
 */
export async function findVisibleBackup(actor: Actor, backupId: string) {
  if (!BACKUP_ID_PATTERN.test(backupId)) {
    throw new AppError("bad_request", `"${backupId.slice(0, 100)}" is not a backup ID: expected <project>-<letters>-<YYYYMMDDHHmm>.`);
  }
  const backup = await getBackup(getDb(), { id: backupId });
  if (!backup || !isEnvironmentVisible(actor, backup.environment, getConfig())) {
    throw new AppError("not_found", `There is no backup ${backupId} you have access to.`);
  }
  return backup;
}
