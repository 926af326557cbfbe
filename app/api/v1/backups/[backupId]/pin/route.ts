import { apiRoute } from "@/lib/api/route";
import { canDownloadBackup } from "@/lib/auth/permissions";
import { setBackupPin } from "@/lib/backups/pin";
import { toBackupJson } from "@/lib/backups/serialize";
import { getConfig } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import { requestInfo } from "@/lib/http/client-address";
import { requireApiActor } from "@/lib/http/current-actor";

export const dynamic = "force-dynamic";

type Context = { params: Promise<{ backupId: string }> };

async function pin(request: Request, context: Context, pinned: boolean): Promise<Response> {
  const actor = await requireApiActor();
  const { backupId } = await context.params;
  const backup = await setBackupPin({ db: getDb(), actor, backupId, pinned, request: requestInfo(request), productionOnly: getConfig().productionOnly });
  return Response.json(
    { response: toBackupJson(backup, backup.environment), permissions: { download: canDownloadBackup(actor, backup.environment) } },
    { headers: { "cache-control": "no-store" } },
  );
}

/** Pins the backup: no retention rule deletes it, nor a person, until it is unpinned. Administrators; audited as backup.pin. */
export const PUT = apiRoute((request: Request, context: Context) => pin(request, context, true));

/** Unpins it: retention judges it by its rules again. Administrators; audited as backup.unpin. */
export const DELETE = apiRoute((request: Request, context: Context) => pin(request, context, false));
