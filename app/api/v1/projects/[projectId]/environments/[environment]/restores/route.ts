import { z } from "zod";

import { apiRoute } from "@/lib/api/route";
import { requireVisibleEnvironment } from "@/lib/environments/visible";
import { requireApiActor } from "@/lib/http/current-actor";
import { toRestoreJson } from "@/lib/backups/restore";
import { getDb } from "@/lib/db/client";
import { listRestores } from "@/lib/db/queries/restores";
import { AppError } from "@/lib/errors";

export const dynamic = "force-dynamic";

type Context = { params: Promise<{ projectId: string; environment: string }> };

const listRestoresQuerySchema = z.object({ limit: z.coerce.number().int().min(1).max(100).default(20) });

/** The latest restores into an environment, newest first. */
export const GET = apiRoute(async (request: Request, context: Context) => {
  const actor = await requireApiActor();
  const environment = await requireVisibleEnvironment(actor, await context.params);
  const parsed = listRestoresQuerySchema.safeParse(Object.fromEntries(new URL(request.url).searchParams));
  if (!parsed.success) {
    throw new AppError(
      "bad_request",
      "The query string is not valid.",
      parsed.error.issues.map((i) => ({ field: i.path.join("."), message: i.message })),
    );
  }
  const items = await listRestores(getDb(), { environmentId: environment.id, limit: parsed.data.limit });
  return Response.json({ response: items.map((restore) => toRestoreJson(restore, environment)) }, { headers: { "cache-control": "no-store" } });
});
