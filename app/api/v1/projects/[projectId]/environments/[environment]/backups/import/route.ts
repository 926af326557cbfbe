import { apiRoute } from "@/lib/api/route";
import { requireVisibleEnvironment } from "@/lib/environments/visible";
import { requireApiActor } from "@/lib/http/current-actor";
import { requestImport } from "@/lib/backups/import";
import { toBackupJson } from "@/lib/backups/serialize";
import { getDb } from "@/lib/db/client";
import { requestInfo } from "@/lib/http/client-address";
import { readJsonBody } from "@/lib/http/json-body";

import { importBackupSchema } from "./schema";

export const dynamic = "force-dynamic";

type Context = { params: Promise<{ projectId: string; environment: string }> };

/**
 * Imports an external backup (Cloud 66's "Import Backup" with `remote_url`):
 * 202 Accepted with the queued backup, origin "imported"; a worker fetches
 * both URLs, verifies them like an upload and completes or fails it (poll
 * the Location). 400 bad body or non-http(s) URL, 403 for non-administrators,
 * 409 while a backup, upload or restore holds the environment.
 */
export const POST = apiRoute(async (request: Request, context: Context) => {
  const actor = await requireApiActor();
  const environment = await requireVisibleEnvironment(actor, await context.params);
  const body = await readJsonBody(request, importBackupSchema);
  const backup = await requestImport({
    db: getDb(),
    actor,
    environment,
    input: { remoteUrl: body.remote_url, volumeUrl: body.volume_url, name: body.name, description: body.description },
    request: requestInfo(request),
  });
  return Response.json(
    { response: toBackupJson(backup, environment) },
    {
      status: 202,
      headers: { "cache-control": "no-store", location: `/api/v1/backups/${backup.id}` },
    },
  );
});
