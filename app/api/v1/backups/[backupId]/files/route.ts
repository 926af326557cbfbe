import { apiRoute } from "@/lib/api/route";
import { requireVisibleBackup } from "@/lib/backups/visible";
import { requireApiActor } from "@/lib/http/current-actor";
import { toBackupJson } from "@/lib/backups/serialize";

export const dynamic = "force-dynamic";

type Context = { params: Promise<{ backupId: string }> };

/**
 * A backup's files, as Cloud 66's "Backups files list": the database `.gz`
 * and the volume `.tgz` with size, SHA-256 and the Liferay download path.
 * A backup still running has none yet.
 */
export const GET = apiRoute(async (_request: Request, context: Context) => {
  const actor = await requireApiActor();
  const { backupId } = await context.params;
  const backup = await requireVisibleBackup(actor, backupId);
  const { files } = toBackupJson(backup, backup.environment);
  return Response.json({ response: files, count: files.length });
});
