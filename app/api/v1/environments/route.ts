import { apiRoute } from "@/lib/api/route";
import { roleIn } from "@/lib/auth/permissions";
import { listVisibleEnvironments, requireApiActor } from "@/lib/auth/session";

export const dynamic = "force-dynamic";

/** The environments the caller has a role in, with that role. */
export const GET = apiRoute(async () => {
  const actor = await requireApiActor();
  const environments = await listVisibleEnvironments(actor);
  return Response.json({
    response: environments.map((env) => ({
      project: env.projectId,
      name: env.name,
      display_name: env.displayName,
      production: env.isProduction,
      role: roleIn(actor, env),
      db_type: env.dbEngine,
    })),
    count: environments.length,
  });
});
