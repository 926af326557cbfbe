import type { IncomingMessage } from "node:http";

import { getToken } from "next-auth/jwt";

import { getDb } from "@/lib/db/client";
import { resolveEnvironmentRoles } from "@/lib/db/queries/roles";
import { authenticateToken } from "@/lib/tokens/tokens";

import { credentialsFromHeaders } from "./credentials";
import type { Actor } from "./permissions";

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

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The actor behind a plain Node request — the byte paths (uploads and
 * downloads) that bypass Next.js. An API token (bearer or basic auth) wins
 * over a cookie; a bad token is a 401 (thrown), never a fall-back to the
 * cookie. Otherwise the same next-auth session cookie the pages use, with
 * the roles looked up afresh.
 */
export async function actorFromNodeRequest(req: IncomingMessage): Promise<Actor | null> {
  const credentials = credentialsFromHeaders((name) => header(req, name));
  if (credentials) return authenticateToken(getDb(), credentials);
  const secret = process.env.NEXTAUTH_SECRET;
  if (!secret) throw new Error("NEXTAUTH_SECRET is not set: start Lifeboat through server.ts");
  const token = await getToken({
    req: { headers: req.headers, cookies: parseCookies(req.headers.cookie) } as never,
    secret,
  });
  if (!token?.sub || !token.email) return null;
  const groups = token.groups ?? [];
  const roles = await resolveEnvironmentRoles(getDb(), { groups });
  return { kind: "user", id: token.sub, email: token.email, name: token.name ?? null, groups, roles };
}

/** The client's address for the audit log: the first proxy hop if one is declared, else the socket. */
export function clientAddress(req: IncomingMessage): string | null {
  const forwarded = req.headers["x-forwarded-for"];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(",")[0]?.trim();
  return first || req.socket.remoteAddress || null;
}
