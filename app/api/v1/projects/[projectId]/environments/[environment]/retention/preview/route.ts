import { apiRoute } from "@/lib/api/route";
import { canChangeBackupPolicy } from "@/lib/auth/permissions";
import { previewRetention } from "@/lib/backups/retention/explain";
import { getDb } from "@/lib/db/client";
import { requireVisibleEnvironment } from "@/lib/environments/visible";
import { AppError } from "@/lib/errors";
import { requireApiActor } from "@/lib/http/current-actor";
import { readJsonBody } from "@/lib/http/json-body";
import { environmentLabel } from "@/lib/uploads/access";

import { retentionPreviewSchema } from "./schema";

export const dynamic = "force-dynamic";

type Context = { params: Promise<{ projectId: string; environment: string }> };

/**
 * What a proposed retention policy would delete if it were saved now: the
 * Settings page asks before it saves. Changes nothing. Administrators, who
 * are the ones who may change the policy.
 */
export const POST = apiRoute(async (request: Request, context: Context) => {
  const actor = await requireApiActor();
  const environment = await requireVisibleEnvironment(actor, await context.params);
  if (!canChangeBackupPolicy(actor, environment)) {
    throw new AppError("forbidden", `Only administrators of ${environmentLabel(environment)} can change, or preview, its retention.`);
  }
  const proposed = await readJsonBody(request, retentionPreviewSchema, { emptyAs: {} });
  return Response.json({ response: await previewRetention(getDb(), { environment, proposed }) }, { headers: { "cache-control": "no-store" } });
});
