import { apiRoute } from "@/lib/api/route";
import { findVisibleEnvironment } from "@/lib/environments/visible";
import { requireSessionActor } from "@/lib/http/current-actor";
import { getConfig } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import { createApiToken, listApiTokens } from "@/lib/tokens/tokens";
import { readJsonBody } from "@/lib/http/json-body";

import { createTokenSchema } from "./schema";

export const dynamic = "force-dynamic";

/** The signed-in person's tokens, newest first; never the tokens themselves. Session only: a token cannot list tokens. */
export const GET = apiRoute(async () => {
  const actor = await requireSessionActor();
  const tokens = await listApiTokens(getDb(), { actor });
  return Response.json({ response: tokens, count: tokens.length }, { headers: { "cache-control": "no-store" } });
});

/** Creates a token and returns it once, in `token`; only its SHA-256 is kept. Session only. */
export const POST = apiRoute(async (request: Request) => {
  const actor = await requireSessionActor();
  const input = await readJsonBody(request, createTokenSchema);
  let environmentId: string | null = null;
  if (input.scope) {
    const environment = await findVisibleEnvironment(actor, { projectId: input.scope.project, environment: input.scope.environment });
    if (!environment) throw new AppError("bad_request", `scope: there is no environment ${input.scope.project}-${input.scope.environment} you can see.`);
    environmentId = environment.id;
  }
  const { token, view } = await createApiToken(getDb(), {
    actor,
    input: { name: input.name, expiresInDays: input.expiresInDays, environmentId },
    productionOnly: getConfig().productionOnly,
  });
  return Response.json({ token, response: view }, { status: 201, headers: { "cache-control": "no-store" } });
});
