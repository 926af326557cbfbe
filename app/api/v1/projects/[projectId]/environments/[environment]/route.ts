import { apiRoute } from "@/lib/api/route";
import { canViewEnvironmentSettings } from "@/lib/auth/permissions";
import { findVisibleEnvironment, requireApiActor } from "@/lib/auth/session";
import { getDb } from "@/lib/db/client";
import { environmentSettingsSchema, toSettingsJson, updateEnvironmentSettings } from "@/lib/environments/settings";
import { AppError } from "@/lib/errors";

export const dynamic = "force-dynamic";

type Context = { params: Promise<{ projectId: string; environment: string }> };

async function adminEnvironment(context: Context) {
  const actor = await requireApiActor();
  const { projectId, environment: name } = await context.params;
  const environment = await findVisibleEnvironment(actor, projectId, name);
  if (!environment) throw new AppError("not_found", `There is no environment ${projectId}-${name} you have a role in.`);
  if (!canViewEnvironmentSettings(actor, environment)) {
    throw new AppError("forbidden", `Only administrators of ${projectId}-${name} can see or change its settings.`);
  }
  return { actor, environment };
}

/** The environment's backup settings (the password only as `hasPassword`). */
export const GET = apiRoute(async (_request: Request, context: Context) => {
  const { environment } = await adminEnvironment(context);
  return Response.json({ response: toSettingsJson(environment) });
});

/** Replaces the settings; `dbPassword` absent keeps the stored password. */
export const PUT = apiRoute(async (request: Request, context: Context) => {
  const { actor, environment } = await adminEnvironment(context);
  const body: unknown = await request.json().catch(() => {
    throw new AppError("bad_request", "The body must be JSON.");
  });
  const parsed = environmentSettingsSchema.safeParse(body);
  if (!parsed.success) {
    throw new AppError(
      "bad_request",
      `The settings are not valid: ${parsed.error.issues.map((i) => `${i.path.join(".") || "body"} ${i.message}`).join("; ")}.`,
      parsed.error.issues.map((i) => ({ field: i.path.join("."), message: i.message })),
    );
  }
  const updated = await updateEnvironmentSettings(getDb(), { actor, environment, input: parsed.data });
  return Response.json({ response: toSettingsJson(updated) });
});
