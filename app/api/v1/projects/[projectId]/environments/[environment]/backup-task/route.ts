import { z } from "zod";

import { apiRoute } from "@/lib/api/route";
import { canChangeBackupPolicy } from "@/lib/auth/permissions";
import { requireVisibleEnvironment } from "@/lib/environments/visible";
import { requireApiActor } from "@/lib/http/current-actor";
import { getDb } from "@/lib/db/client";
import type { Environment } from "@/lib/db/schema";
import { environmentSettingsSchema, updateEnvironmentSettings } from "@/lib/environments/settings";
import { AppError } from "@/lib/errors";
import { readJsonBody } from "@/lib/http/json-body";

import type { BackupTaskJson } from "./schema";
import { updateBackupTaskSchema } from "./schema";

export const dynamic = "force-dynamic";

type Context = { params: Promise<{ projectId: string; environment: string }> };

function toBackupTaskJson(environment: Environment): BackupTaskJson {
  return {
    db_type: environment.dbEngine,
    frequency: environment.scheduleCron,
    keep_count: environment.retentionKeepCount,
    keep_days: environment.retentionDays,
    gzip: true,
    excluded_tables: environment.excludedTables,
    run_on_replica_server: false,
  };
}

const { scheduleCron, retentionKeepCount, retentionDays, excludedTables } = environmentSettingsSchema.shape;
const taskFieldsSchema = z.object({ scheduleCron, retentionKeepCount, retentionDays, excludedTables });

/** The settings' names for the task's fields, so a validation message names what the caller sent. */
const TASK_FIELD: Record<string, string> = {
  scheduleCron: "frequency",
  retentionKeepCount: "keep_count",
  retentionDays: "keep_days",
  excludedTables: "excluded_tables",
};

async function visibleEnvironment(context: Context) {
  const actor = await requireApiActor();
  const environment = await requireVisibleEnvironment(actor, await context.params);
  return { actor, environment };
}

/** The environment's backup task (schedule, retention, excluded tables) in Cloud 66's words; anyone with a role may read it. */
export const GET = apiRoute(async (_request: Request, context: Context) => {
  const { environment } = await visibleEnvironment(context);
  return Response.json({ response: toBackupTaskJson(environment) });
});

/**
 * Changes the backup task, administrators only; fields left out keep their
 * value. The settings page and this share updateEnvironmentSettings, so the
 * checks and the `environment.update` audit row are the same.
 */
export const PUT = apiRoute(async (request: Request, context: Context) => {
  const { actor, environment } = await visibleEnvironment(context);
  if (!canChangeBackupPolicy(actor, environment)) {
    throw new AppError("forbidden", `Only administrators of ${environment.projectId}-${environment.name} can change its backup task.`);
  }
  const body = await readJsonBody(request, updateBackupTaskSchema);
  if (body.gzip === false) throw new AppError("unprocessable", "gzip: Lifeboat always writes gzip'd dumps (database.gz); it cannot be turned off.");
  if (body.run_on_replica_server === true) {
    throw new AppError(
      "unprocessable",
      "run_on_replica_server: Lifeboat dumps the database source configured for the environment; point that source at a replica in the environment settings instead.",
    );
  }
  if (body.db_type !== undefined) {
    const requested = body.db_type
      .split(",")
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean);
    const ok = requested.every((t) => t === "all" || t === environment.dbEngine);
    if (!ok) {
      throw new AppError(
        "unprocessable",
        `db_type: an environment has one database, and ${environment.projectId}-${environment.name}'s is ${environment.dbEngine ?? "not configured"}; change the database source in the environment settings.`,
      );
    }
  }

  // Only the task's fields are checked (with the settings' own rules): a half-configured database
  // source, say, is the settings page's business and must not block a schedule change.
  const parsed = taskFieldsSchema.safeParse({
    scheduleCron: body.frequency === undefined ? environment.scheduleCron : body.frequency === "" ? null : body.frequency,
    retentionKeepCount: body.keep_count === undefined ? environment.retentionKeepCount : body.keep_count,
    retentionDays: body.keep_days === undefined ? environment.retentionDays : body.keep_days,
    excludedTables: body.excluded_tables ?? environment.excludedTables,
  });
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({
      field: [TASK_FIELD[String(i.path[0])] ?? String(i.path[0]), ...i.path.slice(1)].join("."),
      message: i.message,
    }));
    throw new AppError("bad_request", `The backup task is not valid: ${issues.map((i) => `${i.field} ${i.message}`).join("; ")}.`, issues);
  }
  // Only the task's fields are sent: a field left out keeps its value, the sources are never touched.
  const updated = await updateEnvironmentSettings(getDb(), { actor, environment, input: parsed.data });
  return Response.json({ response: toBackupTaskJson(updated) });
});
