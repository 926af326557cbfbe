import { and, desc, eq, isNull, lt, or } from "drizzle-orm";
import type { SQL } from "drizzle-orm";

import type { Db } from "@/lib/db/client";
import { apiTokens, environments, users } from "@/lib/db/schema";
import type { ApiToken, Environment, User } from "@/lib/db/schema";

/*
 * API tokens' data access: named verbs with object arguments. Only the
 * token's SHA-256 and a display prefix are ever written.
 */

export type TokenWithEnvironment = ApiToken & { environment: Pick<Environment, "id" | "projectId" | "name"> | null };

export async function insertApiToken(
  db: Db,
  input: { userId: string; name: string; tokenHash: string; prefix: string; environmentId: string | null; expiresAt: Date | null },
): Promise<ApiToken> {
  const [row] = await db.insert(apiTokens).values(input).returning();
  if (!row) throw new Error("insert returned no row");
  return row;
}

export async function listUserTokens(db: Db, { userId }: { userId: string }): Promise<TokenWithEnvironment[]> {
  const rows = await db
    .select({ token: apiTokens, environment: { id: environments.id, projectId: environments.projectId, name: environments.name } })
    .from(apiTokens)
    .leftJoin(environments, eq(apiTokens.environmentId, environments.id))
    .where(eq(apiTokens.userId, userId))
    .orderBy(desc(apiTokens.createdAt), desc(apiTokens.id));
  return rows.map((r) => ({ ...r.token, environment: r.environment }));
}

async function findTokenWithOwner(db: Db, where: SQL): Promise<{ token: ApiToken; user: User } | undefined> {
  const [row] = await db.select({ token: apiTokens, user: users }).from(apiTokens).innerJoin(users, eq(apiTokens.userId, users.id)).where(where);
  return row;
}

/** The token with its owner, by hash: what authenticating a request needs. */
export function findTokenByHash(db: Db, { tokenHash }: { tokenHash: string }): Promise<{ token: ApiToken; user: User } | undefined> {
  return findTokenWithOwner(db, eq(apiTokens.tokenHash, tokenHash));
}

/** The token with its owner, by id: what checking a download link made with the token needs. */
export function findTokenById(db: Db, { tokenId }: { tokenId: string }): Promise<{ token: ApiToken; user: User } | undefined> {
  return findTokenWithOwner(db, eq(apiTokens.id, tokenId));
}

/** Revokes one of the user's own tokens; false if they have no such token or it was revoked already. */
export async function revokeUserToken(db: Db, { userId, tokenId, now }: { userId: string; tokenId: string; now: Date }): Promise<ApiToken | undefined> {
  const [row] = await db
    .update(apiTokens)
    .set({ revokedAt: now })
    .where(and(eq(apiTokens.id, tokenId), eq(apiTokens.userId, userId), isNull(apiTokens.revokedAt)))
    .returning();
  return row;
}

export async function getUserToken(db: Db, { userId, tokenId }: { userId: string; tokenId: string }): Promise<ApiToken | undefined> {
  const [row] = await db
    .select()
    .from(apiTokens)
    .where(and(eq(apiTokens.id, tokenId), eq(apiTokens.userId, userId)));
  return row;
}

/** Conditional, so many requests in the same minute cost one write between them. */
export async function touchTokenLastUsed(db: Db, { tokenId, now, olderThan }: { tokenId: string; now: Date; olderThan: Date }): Promise<void> {
  await db
    .update(apiTokens)
    .set({ lastUsedAt: now })
    .where(and(eq(apiTokens.id, tokenId), or(isNull(apiTokens.lastUsedAt), lt(apiTokens.lastUsedAt, olderThan))));
}
