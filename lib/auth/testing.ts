import { encode } from "next-auth/jwt";

import { getConfig } from "@/lib/config";
import type { Db } from "@/lib/db/client";
import { resolveEnvironmentRoles } from "@/lib/db/queries/roles";
import { upsertUserOnSignIn } from "@/lib/db/queries/users";

import type { Actor } from "./permissions";
import { isOperatorGroupMember } from "./permissions";
import { createAuthSession } from "./sessions";

/*
 * Sessions for tests, made the way signing in makes them: a users row, a
 * server-side session record and the next-auth JWT that names it. Requests
 * that change something with the cookie also need to say they come from the
 * console (sameOriginHeaders), as a browser on Lifeboat's own pages does.
 */

/** The cookie next-auth reads over plain http (https would add the `__Secure-` prefix). */
export const SESSION_COOKIE = "next-auth.session-token";

export interface SessionUser {
  sub: string;
  email: string;
  name: string;
  groups: string[];
}

export interface TestSession {
  /** A `Cookie` header value. */
  cookie: string;
  sessionId: string;
}

export async function createTestSession(db: Db, user: SessionUser, secret = process.env.NEXTAUTH_SECRET): Promise<TestSession> {
  if (!secret) throw new Error("set NEXTAUTH_SECRET before making test sessions");
  await upsertUserOnSignIn(db, { id: user.sub, email: user.email, name: user.name, groups: user.groups });
  const sessionId = await createAuthSession(db, { userId: user.sub });
  const token = await encode({ token: { sub: user.sub, email: user.email, name: user.name, groups: user.groups, sid: sessionId }, secret });
  return { cookie: `${SESSION_COOKIE}=${token}`, sessionId };
}

/** A `Cookie` header value with a session exactly as the sign-in would have issued it. */
export async function sessionCookie(db: Db, user: SessionUser, secret?: string): Promise<string> {
  return (await createTestSession(db, user, secret)).cookie;
}

/** What a browser adds to a request from Lifeboat's own pages (lib/http/same-origin.ts). */
export function sameOriginHeaders(): { origin: string } {
  return { origin: new URL(getConfig().url).origin };
}

/** The person as a request from their browser session acts: roles from their groups, operator from the configuration. */
export async function actorOf(db: Db, user: SessionUser): Promise<Actor> {
  const session = await createTestSession(db, user);
  return {
    kind: "user",
    id: user.sub,
    email: user.email,
    name: user.name,
    groups: user.groups,
    roles: await resolveEnvironmentRoles(db, { groups: user.groups }),
    operator: isOperatorGroupMember(user.groups, getConfig().operatorGroups),
    sessionId: session.sessionId,
  };
}
