import { apiRoute } from "@/lib/api/route";
import { isEnvironmentVisible } from "@/lib/auth/permissions";
import { requireApiActor } from "@/lib/http/current-actor";
import { toRestoreJson } from "@/lib/backups/restore";
import { getConfig } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import { getRestore } from "@/lib/db/queries/restores";
import { AppError } from "@/lib/errors";

export const dynamic = "force-dynamic";

type Context = { params: Promise<{ restoreId: string }> };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** One restore: status, stage and progress. Visible to whoever may see the environment it restores into. */
export const GET = apiRoute(async (_request: Request, context: Context) => {
  const actor = await requireApiActor();
  const { restoreId } = await context.params;
  const restore = UUID.test(restoreId) ? await getRestore(getDb(), { id: restoreId.toLowerCase() }) : undefined;
  if (!restore || !isEnvironmentVisible(actor, restore.environment, getConfig()))
    throw new AppError("not_found", `There is no restore ${restoreId} you have access to.`);
  return Response.json({ response: toRestoreJson(restore, restore.environment) }, { headers: { "cache-control": "no-store" } });
});
