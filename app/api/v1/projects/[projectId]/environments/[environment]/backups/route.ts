import { apiRoute } from "@/lib/api/route";
import { canDownloadBackup, canUploadBackup } from "@/lib/auth/permissions";
import { findVisibleEnvironment, requireApiActor } from "@/lib/auth/session";
import { toBackupJson } from "@/lib/backups/serialize";
import { getDb } from "@/lib/db/client";
import { decodeBackupCursor, encodeBackupCursor, listBackups } from "@/lib/db/queries/backups";
import { AppError } from "@/lib/errors";

import { listBackupsQuerySchema } from "./schema";

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
    permissions: { download: canDownloadBackup(actor, environment), upload: canUploadBackup(actor, environment) },
  });
});
