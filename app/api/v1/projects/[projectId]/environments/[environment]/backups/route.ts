import { apiRoute } from "@/lib/api/route";
import { canCreateBackup, canDownloadBackup, canUploadBackup } from "@/lib/auth/permissions";
import { findVisibleEnvironment, requireApiActor } from "@/lib/auth/session";
import { requestBackup } from "@/lib/backups/engine/request";
import { toBackupJson } from "@/lib/backups/serialize";
import { getDb } from "@/lib/db/client";
import { decodeBackupCursor, encodeBackupCursor, listBackups } from "@/lib/db/queries/backups";
import { AppError } from "@/lib/errors";
import { readJsonBody } from "@/lib/uploads/http";

import { createBackupSchema, listBackupsQuerySchema } from "./schema";

export const dynamic = "force-dynamic";

type Context = { params: Promise<{ projectId: string; environment: string }> };

/** One page of an environment's backups, newest first, with a cursor to the next. */
export const GET = apiRoute(async (request: Request, context: Context) => {
  const actor = await requireApiActor();
  const { projectId, environment: name } = await context.params;
  const environment = await findVisibleEnvironment(actor, projectId, name);
  if (!environment) throw new AppError("not_found", `There is no environment ${projectId}-${name} you have a role in.`);

  const parsed = listBackupsQuerySchema.safeParse(Object.fromEntries(new URL(request.url).searchParams));
  if (!parsed.success) {
    throw new AppError("bad_request", "The query string is not valid.", parsed.error.issues.map((i) => ({ field: i.path.join("."), message: i.message })));
  }
  const { cursor: rawCursor, limit, status, origin } = parsed.data;
  const cursor = rawCursor ? decodeBackupCursor(rawCursor) : undefined;
  if (cursor === null) throw new AppError("bad_request", "The cursor is not valid; start again from the first page.");

  const page = await listBackups(getDb(), { environmentId: environment.id, limit, cursor, status, origin });
  return Response.json({
    response: page.items.map((backup) => toBackupJson(backup, environment)),
    count: page.items.length,
    pagination: { next_cursor: page.nextCursor ? encodeBackupCursor(page.nextCursor) : null, per_page: limit },
    permissions: { download: canDownloadBackup(actor, environment), upload: canUploadBackup(actor, environment), create: canCreateBackup(actor, environment) },
  });
});

/**
 * Makes a backup now: 202 Accepted with the queued backup, which a worker
 * then runs (poll it for progress). 403 for non-administrators, 422 when the
 * environment has no database source or volume folder, 409 while a backup,
 * upload or restore holds the environment.
 */
export const POST = apiRoute(async (request: Request, context: Context) => {
  const actor = await requireApiActor();
  const { projectId, environment: name } = await context.params;
  const environment = await findVisibleEnvironment(actor, projectId, name);
  if (!environment) throw new AppError("not_found", `There is no environment ${projectId}-${name} you have a role in.`);
  const input = await readJsonBody(request, createBackupSchema, { emptyAs: {} });
  const backup = await requestBackup({ db: getDb(), actor, environment, input });
  return Response.json({ response: toBackupJson(backup, environment) }, {
    status: 202,
    headers: { "cache-control": "no-store", location: `/api/v1/backups/${backup.id}` },
  });
});
