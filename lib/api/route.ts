import { getConfig } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import { errorToResponse } from "@/lib/errors";
import { callerOfWebRequest, isUnsafeMethod } from "@/lib/http/actor";
import { getActor, withRequestScope } from "@/lib/http/current-actor";
import { assertJsonContentType } from "@/lib/http/same-origin";
import { logger } from "@/lib/logger";

import { consumeRateLimit, rateLimitedError, rateLimitHeaders, rateLimitKey } from "./rate-limit";
import type { RateLimitState } from "./rate-limit";

/** A copy with the rate-limit headers added: some Responses (redirects, fetched ones) have immutable headers. */
function withRateLimitHeaders(response: Response, state: RateLimitState | undefined): Response {
  if (!state) return response;
  const headers = new Headers(response.headers);
  for (const [name, value] of Object.entries(rateLimitHeaders(state))) headers.set(name, value);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

/**
 * Wraps every /api/v1 route handler, the one place that
 * - resolves the caller once (lib/http/actor.ts; the handler's
 *   requireApiActor reuses it), so a cookie session's changes are checked
 *   for their origin there, and here for being JSON;
 * - counts the request against the caller's rate limit (lib/api/rate-limit.ts):
 *   X-RateLimit-* headers on every answer to a known caller, 429 over the limit;
 * - turns every failure into the one JSON error shape: AppErrors with their
 *   own status, anything else as a logged, bare 500.
 */
export function apiRoute<Context>(handler: (request: Request, context: Context) => Promise<Response>) {
  return (request: Request, context: Context): Promise<Response> =>
    withRequestScope(request, async () => {
      let limit: RateLimitState | undefined;
      try {
        const actor = await getActor();
        if (actor) {
          if (actor.kind === "user" && isUnsafeMethod(request.method)) assertJsonContentType(callerOfWebRequest(request));
          limit = await consumeRateLimit(getDb(), { key: rateLimitKey(actor), limit: getConfig().apiRateLimitPerMinute });
          if (limit.exceeded) throw rateLimitedError(limit);
        }
        return withRateLimitHeaders(await handler(request, context), limit);
      } catch (error) {
        const response = errorToResponse(error, (err) => logger.error({ err, url: request.url, method: request.method }, "request failed"));
        return withRateLimitHeaders(response, limit);
      }
    });
}
