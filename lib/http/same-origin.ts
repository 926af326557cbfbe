import { getConfig } from "@/lib/config";
import { AppError } from "@/lib/errors";

import type { CallerRequest } from "./actor";

/*
 * Cross-site request forgery. A browser attaches Lifeboat's session cookie
 * to requests that any page makes — SameSite=Lax stops other sites' POSTs,
 * but not a page on another port or a sibling subdomain ("same-site"). So a
 * change made with a cookie must prove it comes from Lifeboat's own pages:
 * an Origin header equal to LIFEBOAT_URL's origin, or Sec-Fetch-Site:
 * same-origin (every current browser sends one of them). Scripts send API
 * tokens, which a browser never attaches by itself, and are unaffected;
 * but a request any credential carries from another site is refused too
 * (a browser remembers basic-auth credentials typed into its prompt).
 */

function expectedOrigin(): string {
  return new URL(getConfig().url).origin;
}

function crossSite(detail: string): AppError {
  return new AppError(
    "forbidden",
    `This request came from another site (${detail}), so Lifeboat did not act on it. Make changes from Lifeboat's own pages at ${expectedOrigin()}, or from a script with an API token.`,
  );
}

/** Refuses an unsafe request that a browser says another site made, whatever its credentials. */
export function assertNotCrossSite(request: CallerRequest): void {
  const origin = request.header("origin");
  if (origin !== undefined && origin !== expectedOrigin()) throw crossSite(`Origin: ${origin.slice(0, 100)}`);
  const site = request.header("sec-fetch-site");
  if (site === "cross-site" || site === "same-site") throw crossSite(`Sec-Fetch-Site: ${site}`);
}

/**
 * Requires proof that a cookie-authenticated change comes from Lifeboat's
 * own pages. `allowNonBrowser`: a request with neither header (curl, a
 * script) is let through too — only for endpoints whose body carries a
 * second secret no other site can know (the SysReptor backup key).
 */
export function assertSameOrigin(request: CallerRequest, { allowNonBrowser = false }: { allowNonBrowser?: boolean } = {}): void {
  assertNotCrossSite(request);
  if (request.header("origin") !== undefined) return;
  if (request.header("sec-fetch-site") === "same-origin") return;
  if (allowNonBrowser && request.header("sec-fetch-site") === undefined) return;
  throw new AppError(
    "forbidden",
    "A change made with a session cookie must come from Lifeboat's own pages, and this request does not say where it came from (no Origin header). " +
      "From a script, send an API token instead (Authorization: Bearer <token>; create one on the Tokens page).",
  );
}

/**
 * JSON routes take only JSON from a cookie session: another site can send
 * text/plain or a form without the browser asking first, but not
 * application/json.
 */
export function assertJsonContentType(request: CallerRequest): void {
  const length = request.header("content-length");
  const hasBody = (length !== undefined && length !== "0") || request.header("transfer-encoding") !== undefined;
  if (!hasBody) return;
  const type = request.header("content-type")?.split(";")[0]?.trim().toLowerCase();
  if (type !== "application/json") {
    throw new AppError(
      "unsupported_media_type",
      `Send the request body as JSON, with Content-Type: application/json${type ? ` (not ${type.slice(0, 60)})` : ""}.`,
    );
  }
}
