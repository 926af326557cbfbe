import { apiRoute } from "@/lib/api/route";
import { requireApiActor } from "@/lib/http/current-actor";
import { getConfig } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import { getStorage } from "@/lib/storage/instance";
import { completeUploadSession } from "@/lib/uploads/complete";
import { requestInfo } from "@/lib/http/client-address";
import { readJsonBody } from "@/lib/http/json-body";

import { completeUploadSchema } from "./schema";

export const dynamic = "force-dynamic";

type Context = { params: Promise<{ sessionId: string }> };

/**
 * Every part is in: take the environment lock and generate the backup in the
 * background (202). Poll `GET /api/v1/uploads/{sessionId}` until the status
 * is `completed` (with `backupId`) or `failed` (with `statusReason`).
 */
export const POST = apiRoute(async (request: Request, context: Context) => {
  const actor = await requireApiActor();
  const { sessionId } = await context.params;
  const input = await readJsonBody(request, completeUploadSchema);
  // The work outlives this response: it runs in this process, which is the long-lived custom server.
  const { session } = await completeUploadSession({
    db: getDb(),
    storage: getStorage(),
    actor,
    sessionId,
    input,
    productionOnly: getConfig().productionOnly,
    request: requestInfo(request),
  });
  return Response.json({ session }, { status: 202, headers: { "cache-control": "no-store", location: `/api/v1/uploads/${session.id}` } });
});
