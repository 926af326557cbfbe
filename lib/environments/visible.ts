import type { Actor } from "@/lib/auth/permissions";
import { canViewEnvironment, isEnvironmentVisible } from "@/lib/auth/permissions";
import { getConfig } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import type { Db } from "@/lib/db/client";
import { getEnvironment, listEnvironments } from "@/lib/db/queries/projects";
import type { Environment } from "@/lib/db/schema";
import { AppError } from "@/lib/errors";

/*
 * "Visible, else 404": an environment the actor has no role in (or that a
 * production-only deployment hides) answers exactly like one that does not
 * exist, so neither its existence nor its name is revealed. Every route,
 * page and handler asks here.
 */

export interface VisibilityDeps {
  db?: Db;
  productionOnly?: boolean;
}

/** An environment as routes and pages name it: `/projects/{projectId}/…/{environment}`. */
export interface EnvironmentRef {
  projectId: string;
  environment: string;
}

export function environmentNotFound({ projectId, environment }: EnvironmentRef): AppError {
  return new AppError("not_found", `There is no environment ${projectId.slice(0, 60)}-${environment.slice(0, 60)} you have access to.`);
}

/** The environment, or null when it does not exist for this actor. */
export async function findVisibleEnvironment(
  actor: Actor,
  { projectId, environment: name }: EnvironmentRef,
  { db = getDb(), productionOnly = getConfig().productionOnly }: VisibilityDeps = {},
): Promise<Environment | null> {
  const environment = await getEnvironment(db, { projectId, name });
  return environment && isEnvironmentVisible(actor, environment, { productionOnly }) ? environment : null;
}

/** The environment, or the 404 a missing one gets. */
export async function requireVisibleEnvironment(actor: Actor, where: EnvironmentRef, deps: VisibilityDeps = {}): Promise<Environment> {
  const environment = await findVisibleEnvironment(actor, where, deps);
  if (!environment) throw environmentNotFound(where);
  return environment;
}

/** The environments this actor may see, in the console's order, honouring the production-only setting. */
export async function listVisibleEnvironments(
  actor: Actor,
  { db = getDb(), productionOnly = getConfig().productionOnly }: VisibilityDeps = {},
): Promise<Environment[]> {
  const environments = await listEnvironments(db, { productionOnly });
  return environments.filter((env) => canViewEnvironment(actor, env));
}
