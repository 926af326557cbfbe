import "server-only";

import { AsyncLocalStorage } from "node:async_hooks";

import { headers } from "next/headers";
import { redirect } from "next/navigation";

import type { Actor } from "@/lib/auth/permissions";
import { AppError } from "@/lib/errors";

import { callerOfWebRequest, resolveActor } from "./actor";
import type { CallerRequest } from "./actor";

/*
 * The actor of the request being served by Next.js, for pages and route
 * handlers. A route handler runs inside withRequestScope (lib/api/route.ts),
 * which resolves the actor once from the Request itself: the rate limit and
 * the handler's requireApiActor share one lookup. A page has no Request
 * object; it reads next/headers, and pages only ever answer GET.
 */

const requestScope = new AsyncLocalStorage<{ request: CallerRequest; actor?: Promise<Actor | null> }>();

/** Runs one route handler call with its request's actor resolved at most once. */
export function withRequestScope<T>(request: Request, run: () => Promise<T>): Promise<T> {
  return requestScope.run({ request: callerOfWebRequest(request) }, run);
}

export async function getActor(): Promise<Actor | null> {
  const scope = requestScope.getStore();
  if (scope) {
    scope.actor ??= resolveActor(scope.request);
    return scope.actor;
  }
  const pageHeaders = await headers();
  return resolveActor({ method: "GET", header: (name) => pageHeaders.get(name) ?? undefined });
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
