import { getEnvironmentById } from "@/lib/db/queries/projects";
import { resolveEnvironmentRoles } from "@/lib/db/queries/roles";
import { getUserById } from "@/lib/db/queries/users";
import type { Db } from "@/lib/db/client";
import { recordAuditEvent } from "@/lib/db/queries/audit";
import { users } from "@/lib/db/schema";
import type { ApiToken, EnvironmentRole, User } from "@/lib/db/schema";
import { AppError } from "@/lib/errors";
import { isEnvironmentVisible, isOperatorGroupMember } from "@/lib/auth/permissions";
import type { Actor } from "@/lib/auth/permissions";

import { displayPrefix, generateToken, hashToken, isWellFormedToken } from "./format";
import { findTokenById, findTokenByHash, getUserToken, insertApiToken, listUserTokens, revokeUserToken, touchTokenLastUsed } from "./store";
import type { TokenWithEnvironment } from "./store";
import type { TokenView } from "./view";

export type { TokenView } from "./view";

export const MAX_TOKEN_NAME_LENGTH = 100;
export const MAX_EXPIRY_DAYS = 3650;
const DAY_MS = 24 * 60 * 60 * 1000;
/** last_used_at is informational: one write a minute per token is plenty, and keeps hot paths read-only. */
export const LAST_USED_RESOLUTION_MS = 60_000;

export function toTokenView(token: TokenWithEnvironment, now: Date = new Date()): TokenView {
  const status = token.revokedAt ? "revoked" : token.expiresAt && token.expiresAt.getTime() <= now.getTime() ? "expired" : "active";
  return {
    id: token.id,
    name: token.name,
    prefix: token.prefix,
    scope: token.environment ? { projectId: token.environment.projectId, environment: token.environment.name } : null,
    createdAt: token.createdAt.toISOString(),
    expiresAt: token.expiresAt?.toISOString() ?? null,
    lastUsedAt: token.lastUsedAt?.toISOString() ?? null,
    revokedAt: token.revokedAt?.toISOString() ?? null,
    status,
  };
}

export interface CreateTokenInput {
  name: string;
  /** null: the token never expires. */
  expiresInDays: number | null;
  /** null: every environment the owner can see. */
  environmentId: string | null;
}

/** Tokens are made by a person in a browser session; a token minting tokens would outlive any revocation. */
function assertSignedInPerson(actor: Actor): void {
  if (actor.kind !== "user") throw new AppError("forbidden", "API tokens cannot create, list or revoke tokens; sign in to the console to manage them.");
}

/**
 * Creates a personal token and returns it in full — the only time it exists
 * outside the caller's hands. The database keeps its SHA-256 and a prefix.
 */
export async function createApiToken(
  db: Db,
  { actor, input, productionOnly, now = new Date() }: { actor: Actor; input: CreateTokenInput; productionOnly: boolean; now?: Date },
): Promise<{ token: string; view: TokenView }> {
  assertSignedInPerson(actor);
  const name = input.name.trim();
  if (name.length === 0 || name.length > MAX_TOKEN_NAME_LENGTH) {
    throw new AppError("bad_request", `Give the token a name of 1 to ${MAX_TOKEN_NAME_LENGTH} characters, so you can tell it apart later.`);
  }
  if (input.expiresInDays !== null && !(Number.isInteger(input.expiresInDays) && input.expiresInDays >= 1 && input.expiresInDays <= MAX_EXPIRY_DAYS)) {
    throw new AppError("bad_request", `A token expires after 1 to ${MAX_EXPIRY_DAYS} whole days, or never.`);
  }
  let environment = null;
  if (input.environmentId !== null) {
    environment = await getEnvironmentById(db, { id: input.environmentId }).catch(() => undefined);
    if (!environment || !isEnvironmentVisible(actor, environment, { productionOnly })) {
      throw new AppError("bad_request", "A token can only be limited to an environment you can see.");
    }
  }
  // Sessions always belong to someone who signed in, but the users row is what a token acts through.
  if (!(await getUserById(db, { id: actor.id }))) {
    await db.insert(users).values({ id: actor.id, email: actor.email, name: actor.name, groups: actor.groups }).onConflictDoNothing();
  }
  const token = generateToken();
  const row = await insertApiToken(db, {
    userId: actor.id,
    name,
    tokenHash: hashToken(token),
    prefix: displayPrefix(token),
    environmentId: environment?.id ?? null,
    expiresAt: input.expiresInDays === null ? null : new Date(now.getTime() + input.expiresInDays * DAY_MS),
  });
  await recordAuditEvent(db, {
    actor: actor.email,
    actorType: "user",
    action: "token.create",
    projectId: environment?.projectId ?? null,
    environmentId: environment?.id ?? null,
    detail: { tokenId: row.id, name, prefix: row.prefix, expiresAt: row.expiresAt?.toISOString() ?? null },
  });
  const view = toTokenView({ ...row, environment: environment && { id: environment.id, projectId: environment.projectId, name: environment.name } }, now);
  return { token, view };
}

export async function listApiTokens(db: Db, { actor, now = new Date() }: { actor: Actor; now?: Date }): Promise<TokenView[]> {
  assertSignedInPerson(actor);
  return (await listUserTokens(db, { userId: actor.id })).map((t) => toTokenView(t, now));
}

/** Revoking is immediate and final; revoking a revoked token again is a no-op. Someone else's token is a 404. */
export async function revokeApiToken(db: Db, { actor, tokenId, now = new Date() }: { actor: Actor; tokenId: string; now?: Date }): Promise<void> {
  assertSignedInPerson(actor);
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  const existing = uuid.test(tokenId) ? await getUserToken(db, { userId: actor.id, tokenId }) : undefined;
  if (!existing) throw new AppError("not_found", "You have no such token.");
  const revoked = await revokeUserToken(db, { userId: actor.id, tokenId, now });
  if (!revoked) return;
  await recordAuditEvent(db, {
    actor: actor.email,
    actorType: "user",
    action: "token.revoke",
    environmentId: revoked.environmentId,
    detail: { tokenId, name: revoked.name, prefix: revoked.prefix },
  });
}

/** The 401 every failed token gets: a clear reason, never a redirect. */
function rejected(message: string): AppError {
  return new AppError("unauthorized", message, undefined, { "www-authenticate": 'Bearer realm="lifeboat", Basic realm="lifeboat"' });
}

/**
 * The actor a token stands for: its owner, with the roles of the groups they
 * had at their last sign-in resolved afresh (a binding removed since takes
 * effect at once), narrowed to the token's environment if it has one.
 * `email` is the basic-auth user name, which must be the owner's.
 */
export async function authenticateToken(
  db: Db,
  { token, email, operatorGroups, now = new Date() }: { token: string; email?: string; operatorGroups: readonly string[]; now?: Date },
): Promise<Actor> {
  if (!isWellFormedToken(token)) {
    throw rejected("The API token is malformed: Lifeboat tokens start with lbt_ and are 47 characters long. Create one on the Tokens page.");
  }
  const found = await findTokenByHash(db, { tokenHash: hashToken(token) });
  if (!found) throw rejected("The API token is not valid.");
  const { token: row, user } = found;
  if (email !== undefined && email.trim().toLowerCase() !== user.email.toLowerCase()) {
    throw rejected("The API token does not belong to that user; send your own e-mail address with your own token.");
  }
  if (row.revokedAt) throw rejected("The API token has been revoked.");
  if (row.expiresAt && row.expiresAt.getTime() <= now.getTime()) throw rejected("The API token has expired.");
  if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() >= LAST_USED_RESOLUTION_MS) {
    await touchTokenLastUsed(db, { tokenId: row.id, now, olderThan: new Date(now.getTime() - LAST_USED_RESOLUTION_MS) });
  }
  return tokenActor(db, { row, user, operatorGroups });
}

/**
 * The actor a token stands for, by the token's id: for a download link made
 * with it (lib/downloads/signed-url.ts). null once the token is revoked,
 * expired or gone — its links stop working with it.
 */
export async function actorForTokenId(
  db: Db,
  { tokenId, operatorGroups, now = new Date() }: { tokenId: string; operatorGroups: readonly string[]; now?: Date },
): Promise<Actor | null> {
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  const found = uuid.test(tokenId) ? await findTokenById(db, { tokenId }) : undefined;
  if (!found || found.token.revokedAt || (found.token.expiresAt && found.token.expiresAt.getTime() <= now.getTime())) return null;
  return tokenActor(db, { row: found.token, user: found.user, operatorGroups });
}

async function tokenActor(db: Db, { row, user, operatorGroups }: { row: ApiToken; user: User; operatorGroups: readonly string[] }): Promise<Actor> {
  let roles: Map<string, EnvironmentRole> = await resolveEnvironmentRoles(db, { groups: user.groups });
  if (row.environmentId) {
    const role = roles.get(row.environmentId);
    roles = new Map(role ? [[row.environmentId, role]] : []);
  }
  return {
    kind: "token",
    id: user.id,
    email: user.email,
    name: user.name,
    groups: user.groups,
    roles,
    tokenId: row.id,
    scopeEnvironmentId: row.environmentId,
    operator: isOperatorGroupMember(user.groups, operatorGroups),
  };
}
