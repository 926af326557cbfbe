import { apiRoute } from "@/lib/api/route";
import { standingIn } from "@/lib/auth/permissions";
import { listVisibleEnvironments } from "@/lib/environments/visible";
import { requireApiActor } from "@/lib/http/current-actor";

export const dynamic = "force-dynamic";

/** The environments the caller has a role in (every one, for an operator), with that role. */
export const GET = apiRoute(async () => {
  const actor = await requireApiActor();
  const environments = await listVisibleEnvironments(actor);
  return Response.json({
    response: environments.map((env) => ({
      project: env.projectId,
      name: env.name,
      display_name: env.displayName,
      production: env.isProduction,
      role: standingIn(actor, env),
      db_type: env.dbEngine,
    })),
    count: environments.length,
  });
});
