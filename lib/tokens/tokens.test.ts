import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { credentialsFromHeaders } from "@/lib/auth/credentials";
import type { Actor } from "@/lib/auth/permissions";
import type { DbHandle } from "@/lib/db/client";
import { getEnvironment } from "@/lib/db/queries/projects";
import { resolveEnvironmentRoles } from "@/lib/db/queries/roles";
import { upsertUserOnSignIn } from "@/lib/db/queries/users";
import { apiTokens, auditEvents } from "@/lib/db/schema";
import type { Environment } from "@/lib/db/schema";
import { DEMO_GROUPS, seedDemoProject } from "@/lib/db/seed";
import { createTestDatabase, DATABASE_KINDS } from "@/lib/db/testing";
import type { AppError } from "@/lib/errors";

import { hashToken, isWellFormedToken } from "./format";
import { authenticateToken, createApiToken, LAST_USED_RESOLUTION_MS, listApiTokens, revokeApiToken } from "./tokens";

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toMatchObject({ name: "AppError" });
  return error as AppError;
}

describe.each(DATABASE_KINDS)("API tokens on %s", (kind) => {
  let handle: DbHandle;
  let ada: Actor;
  let max: Actor;
  let prd: Environment;
  let uat: Environment;
  const day = 24 * 60 * 60 * 1000;

  async function person(id: string, email: string, groups: string[]): Promise<Actor> {
    await upsertUserOnSignIn(handle.db, { id, email, name: id, groups });
    return { kind: "user", id, email, name: id, groups, roles: await resolveEnvironmentRoles(handle.db, { groups }), operator: false };
  }

  beforeAll(async () => {
    handle = await createTestDatabase(kind);
    await seedDemoProject(handle.db);
    prd = (await getEnvironment(handle.db, { projectId: "acme", name: "prd" }))!;
    uat = (await getEnvironment(handle.db, { projectId: "acme", name: "uat" }))!;
    ada = await person("ada", "admin@acme.test", [DEMO_GROUPS.admins]);
    max = await person("max", "member@acme.test", [DEMO_GROUPS.members]);
  });
  afterAll(async () => {
    await handle?.close();
  });

  const create = (actor: Actor, input: Partial<{ name: string; expiresInDays: number | null; environmentId: string | null }> = {}, now?: Date) =>
    createApiToken(handle.db, { actor, input: { name: "ci", expiresInDays: null, environmentId: null, ...input }, productionOnly: false, now });

  it("creates a token shown once, storing only its SHA-256 and a short prefix", async () => {
    const { token, view } = await create(ada, { name: "  nightly CI  ", expiresInDays: 30 });
    expect(isWellFormedToken(token)).toBe(true);
    expect(token).toMatch(/^lbt_[A-Za-z0-9_-]{43}$/);
    const [row] = await handle.db.select().from(apiTokens).where(eq(apiTokens.id, view.id));
    expect(row!.tokenHash).toBe(hashToken(token));
    expect(row!.tokenHash).not.toContain(token.slice(4));
    expect(token.startsWith(row!.prefix)).toBe(true);
    expect(row!.prefix.length).toBeLessThan(12);
    expect(view).toMatchObject({ name: "nightly CI", status: "active", scope: null, revokedAt: null, lastUsedAt: null });
    expect(new Date(view.expiresAt!).getTime() - new Date(view.createdAt).getTime()).toBeGreaterThan(29 * day);
    const listed = await listApiTokens(handle.db, { actor: ada });
    expect(listed.map((t) => t.id)).toContain(view.id);
    expect(JSON.stringify(listed)).not.toContain(token);
    expect((await listApiTokens(handle.db, { actor: max })).map((t) => t.id)).not.toContain(view.id);
    const audit = await handle.db.select().from(auditEvents).where(eq(auditEvents.action, "token.create"));
    expect(audit.some((a) => a.detail.tokenId === view.id && a.actor === "admin@acme.test")).toBe(true);
  });

  it("refuses bad names, expiries, scopes outside what the person sees, and tokens minting tokens", async () => {
    expect((await rejection(create(ada, { name: "   " }))).status).toBe(400);
    expect((await rejection(create(ada, { expiresInDays: 0 }))).status).toBe(400);
    expect((await rejection(create(ada, { expiresInDays: 1.5 }))).status).toBe(400);
    expect((await rejection(create(ada, { environmentId: "00000000-0000-0000-0000-000000000000" }))).status).toBe(400);
    const stranger = await person("sam", "sam@elsewhere.test", ["other"]);
    expect((await rejection(create(stranger, { environmentId: uat.id }))).message).toMatch(/environment you can see/);
    const { token } = await create(ada);
    const asToken = await authenticateToken(handle.db, { token, operatorGroups: [] });
    expect((await rejection(create(asToken))).status).toBe(403);
    expect((await rejection(listApiTokens(handle.db, { actor: asToken }))).status).toBe(403);
  });

  it("authenticates as the owner with the roles of their groups at last sign-in, resolved afresh", async () => {
    const { token, view } = await create(ada);
    const actor = await authenticateToken(handle.db, { token, operatorGroups: [] });
    expect(actor).toMatchObject({ kind: "token", id: "ada", email: "admin@acme.test", tokenId: view.id, scopeEnvironmentId: null });
    expect(actor.roles.get(prd.id)).toBe("admin");
    expect(actor.roles.get(uat.id)).toBe("admin");
    // A new sign-in with fewer groups narrows what the token may do at once.
    await upsertUserOnSignIn(handle.db, { id: "ada", email: "admin@acme.test", name: "ada", groups: [DEMO_GROUPS.members] });
    const narrowed = await authenticateToken(handle.db, { token, operatorGroups: [] });
    expect(narrowed.roles.get(prd.id)).toBe("member");
    await upsertUserOnSignIn(handle.db, { id: "ada", email: "admin@acme.test", name: "ada", groups: [DEMO_GROUPS.admins] });
  });

  it("limits an environment-scoped token to that environment, never beyond the owner's role", async () => {
    const { token, view } = await create(ada, { environmentId: uat.id });
    expect(view.scope).toEqual({ projectId: "acme", environment: "uat" });
    const actor = await authenticateToken(handle.db, { token, operatorGroups: [] });
    expect([...actor.roles.entries()]).toEqual([[uat.id, "admin"]]);
    const member = await create(max, { environmentId: uat.id });
    const memberActor = await authenticateToken(handle.db, { token: member.token, operatorGroups: [] });
    expect([...memberActor.roles.entries()]).toEqual([[uat.id, "member"]]);
  });

  it("rejects expired, revoked, unknown and malformed tokens with distinct messages", async () => {
    const now = new Date();
    const { token: expiring } = await create(ada, { expiresInDays: 1 }, new Date(now.getTime() - 2 * day));
    expect((await rejection(authenticateToken(handle.db, { token: expiring, operatorGroups: [] }))).message).toBe("The API token has expired.");

    const { token, view } = await create(ada);
    await authenticateToken(handle.db, { token, operatorGroups: [] });
    await revokeApiToken(handle.db, { actor: ada, tokenId: view.id });
    const revoked = await rejection(authenticateToken(handle.db, { token, operatorGroups: [] }));
    expect(revoked).toMatchObject({ status: 401, message: "The API token has been revoked." });
    expect((await listApiTokens(handle.db, { actor: ada })).find((t) => t.id === view.id)?.status).toBe("revoked");

    const unknown = `lbt_${"A".repeat(43)}`;
    expect((await rejection(authenticateToken(handle.db, { token: unknown, operatorGroups: [] }))).message).toBe("The API token is not valid.");
    expect((await rejection(authenticateToken(handle.db, { token: "hunter2", operatorGroups: [] }))).message).toMatch(/malformed/);
  });

  it("only lets the owner revoke, and a second revoke changes nothing", async () => {
    const { view } = await create(ada);
    expect((await rejection(revokeApiToken(handle.db, { actor: max, tokenId: view.id }))).status).toBe(404);
    expect((await rejection(revokeApiToken(handle.db, { actor: ada, tokenId: "not-a-uuid" }))).status).toBe(404);
    const at = new Date("2030-01-01T00:00:00Z");
    await revokeApiToken(handle.db, { actor: ada, tokenId: view.id, now: at });
    await revokeApiToken(handle.db, { actor: ada, tokenId: view.id, now: new Date("2031-01-01T00:00:00Z") });
    const [row] = await handle.db.select().from(apiTokens).where(eq(apiTokens.id, view.id));
    expect(row!.revokedAt?.toISOString()).toBe(at.toISOString());
    const revokes = await handle.db.select().from(auditEvents).where(eq(auditEvents.action, "token.revoke"));
    expect(revokes.filter((r) => r.detail.tokenId === view.id)).toHaveLength(1);
  });

  it("checks the basic-auth user name against the owner's e-mail", async () => {
    const { token } = await create(ada);
    await expect(authenticateToken(handle.db, { token, email: "ADMIN@acme.test", operatorGroups: [] })).resolves.toMatchObject({ email: "admin@acme.test" });
    expect((await rejection(authenticateToken(handle.db, { token, email: "member@acme.test", operatorGroups: [] }))).status).toBe(401);
  });

  it("records last use at most once a minute", async () => {
    const { token, view } = await create(ada);
    const t0 = new Date("2030-06-01T12:00:00Z");
    await authenticateToken(handle.db, { token, now: t0, operatorGroups: [] });
    await authenticateToken(handle.db, { token, now: new Date(t0.getTime() + 10_000), operatorGroups: [] });
    const read = async () => (await handle.db.select().from(apiTokens).where(eq(apiTokens.id, view.id)))[0]!.lastUsedAt?.toISOString();
    expect(await read()).toBe(t0.toISOString());
    const later = new Date(t0.getTime() + LAST_USED_RESOLUTION_MS + 1);
    await authenticateToken(handle.db, { token, now: later, operatorGroups: [] });
    expect(await read()).toBe(later.toISOString());
  });
});

describe("credentials from headers", () => {
  const from = (headers: Record<string, string>) => credentialsFromHeaders((name) => headers[name]);
  const token = `lbt_${"x".repeat(43)}`;

  it("reads the three forms the Liferay documents use", () => {
    expect(from({ "dxpcloud-authorization": `Bearer ${token}` })).toEqual({ token });
    expect(from({ authorization: `Bearer ${token}` })).toEqual({ token });
    const basic = Buffer.from(`user@domain.com:${token}`).toString("base64");
    expect(from({ authorization: `Basic ${basic}` })).toEqual({ email: "user@domain.com", token });
    expect(from({})).toBeNull();
  });

  it("answers 401 to malformed headers and to an SSO password in basic auth", () => {
    expect(() => from({ "dxpcloud-authorization": token })).toThrow(/Bearer <token>/);
    expect(() => from({ authorization: "Digest abc" })).toThrow(/malformed/);
    expect(() => from({ authorization: `Basic ${Buffer.from("user@domain.com:password").toString("base64")}` })).toThrow(/not your SSO password/);
    expect(() => from({ authorization: `Basic ${Buffer.from("nocolon").toString("base64")}` })).toThrow(/malformed/);
  });
});
