import { apiRoute } from "@/lib/api/route";
import { requireVisibleEnvironment } from "@/lib/environments/visible";
import { requireApiActor } from "@/lib/http/current-actor";
import { getDb } from "@/lib/db/client";
import { getStorage } from "@/lib/storage/instance";
import { readJsonBody } from "@/lib/http/json-body";
import { createUploadSession } from "@/lib/uploads/sessions";

import { createUploadSchema } from "./schema";

export const dynamic = "force-dynamic";

type Context = { params: Promise<{ projectId: string; environment: string }> };

/**
 * Starts an Upload Backup, or resumes the caller's open one for the same two
 * files (201 new, 200 resumed). The parts then go to the byte path
 * `PUT /api/v1/uploads/{uploadId}/parts/{n}`.
 */
export const POST = apiRoute(async (request: Request, context: Context) => {
  const actor = await requireApiActor();
  const environment = await requireVisibleEnvironment(actor, await context.params);
  const input = await readJsonBody(request, createUploadSchema);
  const { session, resumed } = await createUploadSession({ db: getDb(), storage: getStorage(), actor, environment, input });
  return Response.json({ session, resumed }, { status: resumed ? 200 : 201, headers: { "cache-control": "no-store" } });
});
