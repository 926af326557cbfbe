import { lt, sql } from "drizzle-orm";

import type { Actor } from "@/lib/auth/permissions";
import type { Db } from "@/lib/db/client";
import { rateLimitWindows } from "@/lib/db/schema";
import { AppError } from "@/lib/errors";
import { logger } from "@/lib/logger";

/*
 * The /api/v1 rate limit: a fixed one-minute window per caller, counted in
 * PostgreSQL so every Lifeboat instance behind a load balancer shares it.
 *
 * Who is counted: the person, by their user id, across the browser and
 * every token they made. Requests without valid credentials are refused (401) before anything is
 * counted — they cost one credential check and do nothing else — so they
 * carry no X-RateLimit headers. The byte paths (/backup/download/*,
 * /backup/upload, PUT /api/v1/uploads/{id}/parts/{n}), /api/auth/* and
 * /api/health are not rate limited: a resumed download or a 10,000-part
 * upload must not run into a limit meant for the control plane.
 */

export const RATE_LIMIT_WINDOW_MS = 60_000;

/** Old windows are deleted by roughly one request in this many (and by pruneRateLimitWindows callers). */
const PRUNE_ONE_IN = 100;
/** Windows older than this are of no use to anyone. */
const KEEP_WINDOWS_MS = 10 * RATE_LIMIT_WINDOW_MS;

export interface RateLimitState {
  limit: number;
  remaining: number;
  /** When the current window ends and the count starts again. */
  resetAt: Date;
  /** True when this request was over the limit. */
  exceeded: boolean;
}

/**
 * The key a caller is counted under: the person, whether they call through
 * the browser or any of their tokens — making more tokens does not buy a
 * larger limit.
 */
export function rateLimitKey(actor: Pick<Actor, "id">): string {
  return `user:${actor.id}`;
}

export function windowStart(now: Date): Date {
  return new Date(Math.floor(now.getTime() / RATE_LIMIT_WINDOW_MS) * RATE_LIMIT_WINDOW_MS);
}

/**
 * Counts one request for `key` and says whether it is within `limit`.
 * One upsert, so two instances counting at once both see the other's
 * request. The window is computed from this process's clock: instances
 * whose clocks differ by a few milliseconds only disagree at the boundary.
 */
export async function consumeRateLimit(
  db: Db,
  { key, limit, now = new Date(), pruneChance = 1 / PRUNE_ONE_IN }: { key: string; limit: number; now?: Date; pruneChance?: number },
): Promise<RateLimitState> {
  const start = windowStart(now);
  const [row] = await db
    .insert(rateLimitWindows)
    .values({ key, windowStart: start, count: 1 })
    .onConflictDoUpdate({ target: [rateLimitWindows.key, rateLimitWindows.windowStart], set: { count: sql`${rateLimitWindows.count} + 1` } })
    .returning({ count: rateLimitWindows.count });
  const count = row?.count ?? 1;
  if (Math.random() < pruneChance) {
    // Off the request's path: a failed prune only leaves rows for the next one.
    void pruneRateLimitWindows(db, { now }).catch((error: unknown) => logger.warn({ err: error }, "could not prune old rate-limit windows"));
  }
  return {
    limit,
    remaining: Math.max(0, limit - count),
    resetAt: new Date(start.getTime() + RATE_LIMIT_WINDOW_MS),
    exceeded: count > limit,
  };
}

/** Deletes windows that ended long ago; cheap with the window_start index. Returns how many went. */
export async function pruneRateLimitWindows(db: Db, { now = new Date() }: { now?: Date } = {}): Promise<number> {
  const deleted = await db
    .delete(rateLimitWindows)
    .where(lt(rateLimitWindows.windowStart, new Date(now.getTime() - KEEP_WINDOWS_MS)))
    .returning({ key: rateLimitWindows.key });
  return deleted.length;
}

/** The headers every counted /api/v1 response carries, success or error (Cloud 66's names, plus the reset time). */
export function rateLimitHeaders(state: RateLimitState): Record<string, string> {
  return {
    "x-ratelimit-limit": String(state.limit),
    "x-ratelimit-remaining": String(state.remaining),
    // Unix seconds, as GitHub's and most APIs' X-RateLimit-Reset.
    "x-ratelimit-reset": String(Math.ceil(state.resetAt.getTime() / 1000)),
  };
}

/** The 429 for a request over the limit, with how long to wait. */
export function rateLimitedError(state: RateLimitState, now: Date = new Date()): AppError {
  const seconds = Math.max(1, Math.ceil((state.resetAt.getTime() - now.getTime()) / 1000));
  return new AppError(
    "rate_limited",
    `Too many requests: the limit is ${state.limit} a minute per person, across their session and tokens. Try again in ${seconds} second${seconds === 1 ? "" : "s"}.`,
    undefined,
    { "retry-after": String(seconds) },
  );
}
