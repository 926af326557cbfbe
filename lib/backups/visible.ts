import type { Actor } from "@/lib/auth/permissions";
import { isEnvironmentVisible } from "@/lib/auth/permissions";
import { getConfig } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import { getBackup } from "@/lib/db/queries/backups";
import { AppError } from "@/lib/errors";
import type { VisibilityDeps } from "@/lib/environments/visible";

import { BACKUP_ID_PATTERN } from "./backup-id";

export type VisibleBackup = NonNullable<Awaited<ReturnType<typeof getBackup>>>;

export function backupNotFound(backupId: string): AppError {
  return new AppError("not_found", `There is no backup ${backupId.slice(0, 100)} you have access to.`);
}

/** 400 for what cannot be a backup ID at all: the caller typed something else. */
export function assertBackupId(backupId: string): void {
  if (!BACKUP_ID_PATTERN.test(backupId)) {
    throw new AppError("bad_request", `"${backupId.slice(0, 100)}" is not a backup ID; they look like acme-lqgqnewltbexuewymq-201910031723.`);
  }
}

/**
 * The backup with its files and environment, if the actor may see it: 404
 * alike for a missing backup and one in an environment the actor cannot
 * see (lib/environments/visible.ts), so neither is revealed.
 */
export async function requireVisibleBackup(
  actor: Actor,
  backupId: string,
  { db = getDb(), productionOnly = getConfig().productionOnly }: VisibilityDeps = {},
): Promise<VisibleBackup> {
  assertBackupId(backupId);
  const backup = await getBackup(db, { id: backupId });
  if (!backup || !isEnvironmentVisible(actor, backup.environment, { productionOnly })) throw backupNotFound(backupId);
  return backup;
}
