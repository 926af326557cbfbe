import { randomBytes } from "node:crypto";

import { and, eq, gt, isNull, lt } from "drizzle-orm";

import type { Db } from "@/lib/db/client";
import { runPeriodically } from "@/lib/jobs/periodic";
import { authSessions, users } from "@/lib/db/schema";
import type { User } from "@/lib/db/schema";

/*
 * Server-side records of browser sessions. The cookie is a next-auth JWT,
 * valid by itself until it expires; its `sid` names a row here, and a
 * request whose row is revoked, expired or missing has no session. One
 * indexed lookup a request, in the shared database: every instance honours
 * a sign-out at once.
 */

export const SESSION_MAX_AGE_SECONDS = 8 * 60 * 60;

export async function createAuthSession(
  db: Db,
  { userId, now = new Date(), maxAgeSeconds = SESSION_MAX_AGE_SECONDS }: { userId: string; now?: Date; maxAgeSeconds?: number },
): Promise<string> {
  const id = randomBytes(24).toString("base64url");
  await db.insert(authSessions).values({ id, userId, createdAt: now, expiresAt: new Date(now.getTime() + maxAgeSeconds * 1000) });
  return id;
}

/** Whether the session may still act: it exists, belongs to this person, is not revoked and has not expired. */
export async function isAuthSessionActive(db: Db, { id, userId, now = new Date() }: { id: string; userId: string; now?: Date }): Promise<boolean> {
  const [row] = await db
    .select({ id: authSessions.id })
    .from(authSessions)
    .where(and(eq(authSessions.id, id), eq(authSessions.userId, userId), isNull(authSessions.revokedAt), gt(authSessions.expiresAt, now)));
  return row !== undefined;
}

/** The session's owner, while the session is active: for a download link made in it. */
export async function findActiveSessionUser(db: Db, { id, now = new Date() }: { id: string; now?: Date }): Promise<User | undefined> {
  const [row] = await db
    .select({ user: users })
    .from(authSessions)
    .innerJoin(users, eq(authSessions.userId, users.id))
    .where(and(eq(authSessions.id, id), isNull(authSessions.revokedAt), gt(authSessions.expiresAt, now)));
  return row?.user;
}

/** Ends a session everywhere; ending an ended one changes nothing. */
export async function revokeAuthSession(db: Db, { id, now = new Date() }: { id: string; now?: Date }): Promise<void> {
  await db
    .update(authSessions)
    .set({ revokedAt: now })
    .where(and(eq(authSessions.id, id), isNull(authSessions.revokedAt)));
}

/** Rows of sessions that expired long ago; nothing reads them. */
export async function pruneAuthSessions(db: Db, { now = new Date() }: { now?: Date } = {}): Promise<number> {
  const cutoff = new Date(now.getTime() - 7 * 24 * 60 * 60 * 1000);
  const deleted = await db.delete(authSessions).where(lt(authSessions.expiresAt, cutoff)).returning({ id: authSessions.id });
  return deleted.length;
}

/** Prunes long-expired session records every hour; safe on every instance (a delete of what nobody reads). */
export function startSessionPruning({ db, intervalMs = 60 * 60 * 1000 }: { db: Db; intervalMs?: number }): () => void {
  return runPeriodically("session pruning", intervalMs, async () => {
    await pruneAuthSessions(db);
  });
}
