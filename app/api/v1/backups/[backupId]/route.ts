import { apiRoute } from "@/lib/api/route";
import { canDownloadBackup, isEnvironmentVisible } from "@/lib/auth/permissions";
import { requireApiActor } from "@/lib/http/current-actor";
import { BACKUP_ID_PATTERN } from "@/lib/backups/backup-id";
import { deleteBackup } from "@/lib/backups/delete";
import { toBackupJson } from "@/lib/backups/serialize";
import { getConfig } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import { getBackup } from "@/lib/db/queries/backups";
import { AppError } from "@/lib/errors";
import { getStorage } from "@/lib/storage/instance";
import { requestInfo } from "@/lib/http/client-address";

export const dynamic = "force-dynamic";

type Context = { params: Promise<{ backupId: string }> };

/** One backup with its manifest (sizes and SHA-256 of each file, engine, versions). */
export const GET = apiRoute(async (_request: Request, context: Context) => {
  const actor = await requireApiActor();
  const { backupId } = await context.params;
  if (!BACKUP_ID_PATTERN.test(backupId)) {
    throw new AppError("bad_request", `"${backupId}" is not a backup ID: expected <project>-<letters>-<YYYYMMDDHHmm>.`);
  }
  const backup = await getBackup(getDb(), { id: backupId });
  if (!backup || !isEnvironmentVisible(actor, backup.environment, getConfig()))
    throw new AppError("not_found", `There is no backup ${backupId} you have access to.`);
  return Response.json({
    response: { ...toBackupJson(backup, backup.environment), manifest: backup.manifest },
    permissions: { download: canDownloadBackup(actor, backup.environment) },
  });
});

/**
 * Deletes one backup: its files in storage and its record (204). 404 when not
 * visible, 403 unless an administrator of its environment, 409 while it is in
 * use (being made, read by a queued or running restore, named by an
 * environment lock). Audited as backup.delete.
 */
export const DELETE = apiRoute(async (request: Request, context: Context) => {
  const actor = await requireApiActor();
  const { backupId } = await context.params;
  if (!BACKUP_ID_PATTERN.test(backupId)) {
    throw new AppError("bad_request", `"${backupId}" is not a backup ID: expected <project>-<letters>-<YYYYMMDDHHmm>.`);
  }
  await deleteBackup({ db: getDb(), storage: getStorage(), actor, backupId, requestInfo: requestInfo(request), productionOnly: getConfig().productionOnly });
  return new Response(null, { status: 204, headers: { "cache-control": "no-store" } });
});
