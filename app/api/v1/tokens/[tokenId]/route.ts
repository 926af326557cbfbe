import { apiRoute } from "@/lib/api/route";
import { requireSessionActor } from "@/lib/http/current-actor";
import { getDb } from "@/lib/db/client";
import { revokeApiToken } from "@/lib/tokens/tokens";

export const dynamic = "force-dynamic";

type Context = { params: Promise<{ tokenId: string }> };

/** Revokes one of the signed-in person's tokens at once (204); revoking again is harmless. Session only. */
export const DELETE = apiRoute(async (_request: Request, context: Context) => {
  const actor = await requireSessionActor();
  const { tokenId } = await context.params;
  await revokeApiToken(getDb(), { actor, tokenId });
  return new Response(null, { status: 204, headers: { "cache-control": "no-store" } });
});
