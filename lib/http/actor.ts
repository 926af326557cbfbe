import { getToken } from "next-auth/jwt";

import { credentialsFromHeaders } from "@/lib/auth/credentials";
import { isOperatorGroupMember } from "@/lib/auth/permissions";
import type { Actor } from "@/lib/auth/permissions";
import { findActiveSessionUser, isAuthSessionActive } from "@/lib/auth/sessions";
import { getConfig } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import type { Db } from "@/lib/db/client";
import { resolveEnvironmentRoles } from "@/lib/db/queries/roles";
import { actorForTokenId, authenticateToken } from "@/lib/tokens/tokens";

import { assertNotCrossSite, assertSameOrigin } from "./same-origin";

/**
 * What identifying a caller needs from a request, whichever server parsed
 * it: Next's Request (route handlers), next/headers (pages) or Node's
 * IncomingMessage (the byte paths).
 */
export interface CallerRequest {
  method: string;
  header(name: string): string | undefined;
}

export function callerOfWebRequest(request: Pick<Request, "method" | "headers">): CallerRequest {
  return { method: request.method, header: (name) => request.headers.get(name) ?? undefined };
}

export function callerOfNodeRequest(req: { method?: string; headers: Record<string, string | string[] | undefined> }): CallerRequest {
  return {
    method: req.method ?? "GET",
    header: (name) => {
      const value = req.headers[name.toLowerCase()];
      return Array.isArray(value) ? value[0] : value;
    },
  };
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export function isUnsafeMethod(method: string): boolean {
  return !SAFE_METHODS.has(method.toUpperCase());
}

function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const part of header?.split(";") ?? []) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    try {
      cookies[name] = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      // A malformed cookie is somebody else's problem; it cannot be a session of ours.
    }
  }
  return cookies;
}

function authSecret(): string {
  const secret = process.env.NEXTAUTH_SECRET;
  if (!secret) throw new Error("NEXTAUTH_SECRET is not set: start Lifeboat through server.ts");
  return secret;
}

/**
 * Who is calling, the one way every part of Lifeboat finds out:
 *
 * - An API token (`dxpcloud-authorization`, `Authorization: Bearer`, or basic
 *   auth with the e-mail and a token) acts as its owner. A bad token is a 401
 *   (thrown), never a fall-back to a cookie.
 * - Otherwise the next-auth session cookie, if its server-side record
 *   (lib/auth/sessions.ts) is still active: signing out ends it everywhere.
 *   A cookie can be sent by a browser on another site's behalf, so any
 *   change it makes must come from Lifeboat's own pages (./same-origin.ts).
 *
 * `allowNonBrowser` lets a cookie request with no Origin at all through
 * (see assertSameOrigin): only for bodies that carry a second secret.
 *
 * Roles are looked up afresh from the groups on every request: a role
 * binding removed in the database takes effect at once.
 */
export async function resolveActor(
  request: CallerRequest,
  { db = getDb(), allowNonBrowser = false }: { db?: Db; allowNonBrowser?: boolean } = {},
): Promise<Actor | null> {
  const { operatorGroups } = getConfig();
  const unsafe = isUnsafeMethod(request.method);
  const credentials = credentialsFromHeaders(request.header);
  if (credentials) {
    if (unsafe) assertNotCrossSite(request);
    return authenticateToken(db, { ...credentials, operatorGroups });
  }

  const cookie = request.header("cookie");
  if (!cookie) return null;
  const token = await getToken({ req: { headers: { cookie }, cookies: parseCookies(cookie) } as never, secret: authSecret() });
  if (!token?.sub || !token.email || typeof token.sid !== "string") return null;
  if (!(await isAuthSessionActive(db, { id: token.sid, userId: token.sub }))) return null;
  if (unsafe) assertSameOrigin(request, { allowNonBrowser });

  const groups = token.groups ?? [];
  return {
    kind: "user",
    id: token.sub,
    email: token.email,
    name: token.name ?? null,
    groups,
    roles: await resolveEnvironmentRoles(db, { groups }),
    operator: isOperatorGroupMember(groups, operatorGroups),
    sessionId: token.sid,
  };
}

/**
 * Whoever made a download link (`s.<session id>` or `t.<token id>`, see
 * lib/downloads/signed-url.ts), as they are now: null once the session
 * ended or the token was revoked or expired. Their roles are looked up
 * afresh, so a link stops working the moment its maker could no longer
 * download the file themselves.
 */
export async function resolveLinkMaker(maker: string, { db = getDb() }: { db?: Db } = {}): Promise<Actor | null> {
  const { operatorGroups } = getConfig();
  const id = maker.slice(2);
  if (maker.startsWith("t.")) return actorForTokenId(db, { tokenId: id, operatorGroups });
  if (!maker.startsWith("s.")) return null;
  const user = await findActiveSessionUser(db, { id });
  if (!user) return null;
  return {
    kind: "user",
    id: user.id,
    email: user.email,
    name: user.name,
    groups: user.groups,
    roles: await resolveEnvironmentRoles(db, { groups: user.groups }),
    operator: isOperatorGroupMember(user.groups, operatorGroups),
    sessionId: id,
  };
}
