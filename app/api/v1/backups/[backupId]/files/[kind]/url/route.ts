import { apiRoute } from "@/lib/api/route";
import { requireVisibleBackup } from "@/lib/backups/visible";
import { auditActorType, canDownloadBackup } from "@/lib/auth/permissions";
import { requireApiActor } from "@/lib/http/current-actor";
import { getConfig } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import { recordAuditEvent } from "@/lib/db/queries/audit";
import { isDownloadKind } from "@/lib/downloads/representation";
import { createSignedDownloadUrl, linkMaker } from "@/lib/downloads/signed-url";
import { AppError } from "@/lib/errors";
import { requestInfo } from "@/lib/http/client-address";
import { readJsonBody } from "@/lib/http/json-body";

import { createFileUrlSchema } from "./schema";

export const dynamic = "force-dynamic";

type Context = { params: Promise<{ backupId: string; kind: string }> };

/**
 * A time-limited link to one file (Cloud 66's "public URL to a backup
 * file"): anyone holding it can download the file, with no session or
 * token, until `expires_at`. Only someone who may download the file may make
 * one, and making one is audited as `backup.download_url` with who made it.
 * The link names the session or token it was made with and works only
 * while that is active and its owner may still download the file.
 */
export const POST = apiRoute(async (request: Request, context: Context) => {
  const actor = await requireApiActor();
  const { backupId, kind } = await context.params;
  if (!isDownloadKind(kind)) throw new AppError("not_found", `A backup has a database file and a volume file; there is no "${kind.slice(0, 50)}" file.`);
  const backup = await requireVisibleBackup(actor, backupId);
  const { environment } = backup;
  if (!canDownloadBackup(actor, environment)) {
    throw new AppError("forbidden", `Only administrators of ${environment.projectId}-${environment.name} can download its backups, or make links to them.`);
  }
  const input = await readJsonBody(request, createFileUrlSchema, { emptyAs: {} });
  if (backup.status !== "completed") {
    throw new AppError("conflict", `Backup ${backupId} is ${backup.status}; only completed backups can be downloaded.`);
  }
  if (!backup.files.some((file) => file.kind === kind)) throw new AppError("conflict", `Backup ${backupId} has no ${kind} file to download.`);

  const link = createSignedDownloadUrl({ baseUrl: getConfig().url, kind, backupId, expiresInSeconds: input.expires_in, maker: linkMaker(actor) });
  const { ip, userAgent } = requestInfo(request);
  await recordAuditEvent(getDb(), {
    action: "backup.download_url",
    actor: actor.email,
    actorType: auditActorType(actor),
    projectId: environment.projectId,
    environmentId: environment.id,
    backupId,
    ip: ip ?? null,
    userAgent: userAgent ?? null,
    detail: { kind, expiresAt: link.expiresAt.toISOString(), ...(actor.tokenId ? { tokenId: actor.tokenId } : {}) },
  });
  return Response.json({ response: { url: link.url, expires_at: link.expiresAt.toISOString() } }, { headers: { "cache-control": "no-store" } });
});
