import { apiRoute } from "@/lib/api/route";
import { requireApiActor } from "@/lib/http/current-actor";
import { BACKUP_ID_PATTERN } from "@/lib/backups/backup-id";
import { requestRestore, toRestoreJson } from "@/lib/backups/restore";
import { getConfig } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import { requestInfo } from "@/lib/http/client-address";
import { readJsonBody } from "@/lib/http/json-body";

import { restoreBackupSchema } from "./schema";

export const dynamic = "force-dynamic";

type Context = { params: Promise<{ backupId: string }> };

/**
 * Restores a backup into its own environment or another of its project:
 * 202 Accepted with the queued restore, which a worker then runs (poll
 * Location for status and progress). 403 unless the caller administers the
 * target and may download the backup, 409 while the target is busy, 422
 * when the backup or the target cannot take part, or a production target's
 * name was not typed in `confirm`.
 */
export const POST = apiRoute(async (request: Request, context: Context) => {
  const actor = await requireApiActor();
  const { backupId } = await context.params;
  if (!BACKUP_ID_PATTERN.test(backupId)) {
    throw new AppError("bad_request", `"${backupId}" is not a backup ID: expected <project>-<letters>-<YYYYMMDDHHmm>.`);
  }
  const input = await readJsonBody(request, restoreBackupSchema, { emptyAs: {} });
  const { restore, environment } = await requestRestore({
    db: getDb(),
    actor,
    backupId,
    input,
    productionOnly: getConfig().productionOnly,
    requestInfo: requestInfo(request),
  });
  return Response.json(
    { response: toRestoreJson(restore, environment) },
    {
      status: 202,
      headers: { "cache-control": "no-store", location: `/api/v1/restores/${restore.id}` },
    },
  );
});
