import { apiRoute } from "@/lib/api/route";
import { backupHistory } from "@/lib/backups/history";
import { getDb } from "@/lib/db/client";
import { requireVisibleEnvironment } from "@/lib/environments/visible";
import { AppError } from "@/lib/errors";
import { requireApiActor } from "@/lib/http/current-actor";

import { backupHistoryQuerySchema } from "./schema";

export const dynamic = "force-dynamic";

type Context = { params: Promise<{ projectId: string; environment: string }> };

/**
 * The environment's backups over the last `days` days, oldest first, with
 * duration and both files' sizes: what the Backups page's charts draw.
 * Anyone who may see the environment's backups may see this.
 */
export const GET = apiRoute(async (request: Request, context: Context) => {
  const actor = await requireApiActor();
  const environment = await requireVisibleEnvironment(actor, await context.params);
  const parsed = backupHistoryQuerySchema.safeParse(Object.fromEntries(new URL(request.url).searchParams));
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ field: i.path.join(".") || "query", message: i.message }));
    throw new AppError("bad_request", `The query string is not valid: ${issues.map((i) => `${i.field} ${i.message}`).join("; ")}.`, issues);
  }
  return Response.json({ response: await backupHistory(getDb(), { environmentId: environment.id, days: parsed.data.days }) });
});
