import "server-only";

import { AsyncLocalStorage } from "node:async_hooks";

import { getServerSession } from "next-auth";
import { headers } from "next/headers";
import { redirect } from "next/navigation";

import { getConfig } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import { getEnvironment, listEnvironments } from "@/lib/db/queries/projects";
import { resolveEnvironmentRoles } from "@/lib/db/queries/roles";
import type { Environment } from "@/lib/db/schema";
import { AppError } from "@/lib/errors";
import { authenticateToken } from "@/lib/tokens/tokens";

import { credentialsFromHeaders } from "./credentials";
import { getAuthOptions } from "./options";
import type { Actor } from "./permissions";
import { canViewEnvironment, isEnvironmentVisible } from "./permissions";

/**
 * One request's actor, looked up once: apiRoute resolves it to count the
 * request against the rate limit, and the handler's requireApiActor then
 * gets the same one instead of a second token or session lookup.
 */
const actorScope = new AsyncLocalStorage<{ actor?: Promise<Actor | null> }>();

/** Runs one API request with its own actor cache (see apiRoute). */
export function withActorScope<T>(run: () => Promise<T>): Promise<T> {
  return actorScope.run({}, run);
}

/**
 * The signed-in person with their roles, looked up afresh on every request:
 * a role binding removed in the database takes effect at once. A request
 * with an API token (bearer or basic auth) acts as the token's owner; a bad
 * token throws a 401 AppError rather than falling back to the cookie.
 */
export async function getActor(): Promise<Actor | null> {
  const scope = actorScope.getStore();
  if (!scope) return resolveActor();
  scope.actor ??= resolveActor();
  return scope.actor;
}

async function resolveActor(): Promise<Actor | null> {
  const requestHeaders = await headers();
  const credentials = credentialsFromHeaders((name) => requestHeaders.get(name));
  if (credentials) return authenticateToken(getDb(), credentials);
  const session = await getServerSession(getAuthOptions());
  if (!session?.user?.id) return null;
  const roles = await resolveEnvironmentRoles(getDb(), { groups: session.user.groups });
  return { kind: "user", ...session.user, roles };
}

/** For pages: no session → the sign-in page. */
export async function requirePageActor(): Promise<Actor> {
  const actor = await getActor();
  if (!actor) redirect("/signin");
  return actor;
}

/** For API routes: no session → 401 JSON, never an HTML redirect. */
export async function requireApiActor(): Promise<Actor> {
  const actor = await getActor();
  if (!actor) throw new AppError("unauthorized", "Sign in or send an API token to use this endpoint.");
  return actor;
}

/** For what only a person in a browser may do (managing tokens): a token gets 403. */
export async function requireSessionActor(): Promise<Actor> {
  const actor = await requireApiActor();
  if (actor.kind !== "user") throw new AppError("forbidden", "API tokens cannot manage tokens; sign in to the console to create or revoke them.");
  return actor;
}

/** The environments this actor may see, honouring the production-only setting. */
export async function listVisibleEnvironments(actor: Actor): Promise<Environment[]> {
  const environments = await listEnvironments(getDb(), { productionOnly: getConfig().productionOnly });
  return environments.filter((env) => canViewEnvironment(actor, env));
}

/**
 * One environment the actor may see. An environment they may not see answers
 * exactly like a missing one, so its existence is not revealed.
 */
export async function findVisibleEnvironment(actor: Actor, projectId: string, name: string): Promise<Environment | null> {
  const environment = await getEnvironment(getDb(), { projectId, name });
  if (!environment || !isEnvironmentVisible(actor, environment, getConfig())) return null;
  return environment;
}
