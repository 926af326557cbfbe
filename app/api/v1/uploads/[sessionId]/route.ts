import { apiRoute } from "@/lib/api/route";
import { requireApiActor } from "@/lib/http/current-actor";
import { getConfig } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import { getStorage } from "@/lib/storage/instance";
import { requestInfo } from "@/lib/http/client-address";
import { abortUploadSession, getUploadSession } from "@/lib/uploads/sessions";

export const dynamic = "force-dynamic";

type Context = { params: Promise<{ sessionId: string }> };

/** The session with the parts already stored: for polling a completion and for resuming. */
export const GET = apiRoute(async (_request: Request, context: Context) => {
  const actor = await requireApiActor();
  const { sessionId } = await context.params;
  const session = await getUploadSession({ db: getDb(), actor, sessionId, productionOnly: getConfig().productionOnly });
  return Response.json({ session }, { headers: { "cache-control": "no-store" } });
});

/** Cancels the upload and deletes its parts. */
export const DELETE = apiRoute(async (request: Request, context: Context) => {
  const actor = await requireApiActor();
  const { sessionId } = await context.params;
  await abortUploadSession({
    db: getDb(),
    storage: getStorage(),
    actor,
    sessionId,
    productionOnly: getConfig().productionOnly,
    request: requestInfo(request),
  });
  return new Response(null, { status: 204 });
});
