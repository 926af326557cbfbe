import { apiRoute } from "@/lib/api/route";
import { canViewEnvironmentSettings } from "@/lib/auth/permissions";
import { applyChangedRetention } from "@/lib/backups/retention";
import { getDb } from "@/lib/db/client";
import { environmentSettingsSchema, toSettingsJson, updateEnvironmentSettings } from "@/lib/environments/settings";
import { requireVisibleEnvironment } from "@/lib/environments/visible";
import { AppError } from "@/lib/errors";
import { requireApiActor } from "@/lib/http/current-actor";
import { readJsonBody } from "@/lib/http/json-body";
import { getStorage } from "@/lib/storage/instance";

export const dynamic = "force-dynamic";

type Context = { params: Promise<{ projectId: string; environment: string }> };

async function settingsEnvironment(context: Context) {
  const actor = await requireApiActor();
  const environment = await requireVisibleEnvironment(actor, await context.params);
  if (!canViewEnvironmentSettings(actor, environment)) {
    throw new AppError(
      "forbidden",
      `Only administrators of ${environment.projectId}-${environment.name} and Lifeboat's operators can see or change its settings.`,
    );
  }
  return { actor, environment };
}

/** The environment's backup settings; the sources (database connection, volume folder) only to operators, the password never. */
export const GET = apiRoute(async (_request: Request, context: Context) => {
  const { actor, environment } = await settingsEnvironment(context);
  return Response.json({ response: toSettingsJson(environment, actor) });
});

/**
 * Changes the settings; a field left out keeps its value (`dbPassword`
 * absent keeps the stored password). Sources are operators' to change, the
 * backup policy the environment administrators' (403 naming the fields).
 * New retention rules are applied at once; `retention` says what that deleted.
 */
export const PUT = apiRoute(async (request: Request, context: Context) => {
  const { actor, environment } = await settingsEnvironment(context);
  const input = await readJsonBody(request, environmentSettingsSchema);
  const updated = await updateEnvironmentSettings(getDb(), { actor, environment, input });
  const applied = await applyChangedRetention({ db: getDb(), storage: getStorage() }, { before: environment, after: updated });
  return Response.json({
    response: toSettingsJson(updated, actor),
    retention: applied && { deleted: applied.deleted.map((d) => d.backupId), skipped: applied.skipped },
  });
});
