import { apiRoute } from "@/lib/api/route";
import { canCreateBackup, canDownloadBackup, canUploadBackup } from "@/lib/auth/permissions";
import { requireVisibleEnvironment } from "@/lib/environments/visible";
import { requireApiActor } from "@/lib/http/current-actor";
import { requestBackup } from "@/lib/backups/engine/request";
import { retentionOfPage, toRetentionJson } from "@/lib/backups/retention/explain";
import { toBackupJson } from "@/lib/backups/serialize";
import { getDb } from "@/lib/db/client";
import { countBackups, decodeBackupCursor, encodeBackupCursor, listBackups } from "@/lib/db/queries/backups";
import { AppError } from "@/lib/errors";
import { readJsonBody } from "@/lib/http/json-body";

import { createBackupSchema, DEFAULT_PAGE_SIZE, listBackupsQuerySchema } from "./schema";

export const dynamic = "force-dynamic";

type Context = { params: Promise<{ projectId: string; environment: string }> };

/**
 * One page of an environment's backups, newest first, with Cloud 66's
 * `pagination` object (page numbers and counts) and `next_cursor` for the
 * keyset walk the console uses.
 */
export const GET = apiRoute(async (request: Request, context: Context) => {
  const actor = await requireApiActor();
  const environment = await requireVisibleEnvironment(actor, await context.params);

  const parsed = listBackupsQuerySchema.safeParse(Object.fromEntries(new URL(request.url).searchParams));
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ field: i.path.join("."), message: i.message }));
    throw new AppError("bad_request", `The query string is not valid: ${issues.map((i) => `${i.field} ${i.message}`).join("; ")}.`, issues);
  }
  const { cursor: rawCursor, page: pageNumber, status, origin, db_type: dbType } = parsed.data;
  const perPage = parsed.data.per_page ?? parsed.data.limit ?? DEFAULT_PAGE_SIZE;
  const cursor = rawCursor ? decodeBackupCursor(rawCursor) : undefined;
  if (cursor === null) throw new AppError("bad_request", "The cursor is not valid; start again from the first page.");

  const db = getDb();
  const filters = { environmentId: environment.id, status, origin, dbType };
  const offset = cursor ? 0 : ((pageNumber ?? 1) - 1) * perPage;
  const [page, count, before] = await Promise.all([
    listBackups(db, { ...filters, limit: perPage, cursor, offset }),
    countBackups(db, filters),
    // The page a cursor starts in: how many backups are listed before it.
    cursor ? countBackups(db, { ...filters, through: cursor }) : Promise.resolve(offset),
  ]);
  // Why each is kept (or that the next retention run deletes it), as the sweep would judge it now.
  const retention = await retentionOfPage(db, environment, page.items);
  const current = Math.floor(before / perPage) + 1;
  const pages = Math.max(1, Math.ceil(count / perPage));
  return Response.json({
    response: page.items.map((backup) => ({ ...toBackupJson(backup, environment), retention: toRetentionJson(retention.get(backup.id)) })),
    count: page.items.length,
    pagination: {
      previous: current > 1 ? current - 1 : null,
      next: current < pages ? current + 1 : null,
      current,
      per_page: perPage,
      count,
      pages,
      next_cursor: page.nextCursor ? encodeBackupCursor(page.nextCursor) : null,
    },
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
  const environment = await requireVisibleEnvironment(actor, await context.params);
  const input = await readJsonBody(request, createBackupSchema, { emptyAs: {} });
  const backup = await requestBackup({ db: getDb(), actor, environment, input });
  return Response.json(
    { response: toBackupJson(backup, environment) },
    {
      status: 202,
      headers: { "cache-control": "no-store", location: `/api/v1/backups/${backup.id}` },
    },
  );
});
