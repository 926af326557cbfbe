import { encode } from "next-auth/jwt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { revokeAuthSession } from "@/lib/auth/sessions";
import { actorOf, createTestSession, sameOriginHeaders, SESSION_COOKIE } from "@/lib/auth/testing";
import type { DbHandle } from "@/lib/db/client";
import { DEMO_GROUPS, seedDemoProject } from "@/lib/db/seed";
import { createTestDatabase } from "@/lib/db/testing";
import { isAppError } from "@/lib/errors";
import { createApiToken } from "@/lib/tokens/tokens";

import { resolveActor } from "./actor";
import type { CallerRequest } from "./actor";

const ADA = { sub: "ada", email: "admin@acme.test", name: "Ada Admin", groups: [DEMO_GROUPS.admins] };
const OLGA = { sub: "olga", email: "operator@acme.test", name: "Olga Operator", groups: ["lifeboat-operators"] };

function caller(method: string, headers: Record<string, string>): CallerRequest {
  return { method, header: (name) => headers[name.toLowerCase()] };
}

async function refusal(run: Promise<unknown>): Promise<string> {
  try {
    await run;
  } catch (error) {
    if (isAppError(error)) return `${error.status} ${error.message}`;
    throw error;
  }
  return "accepted";
}

describe("who is calling", () => {
  let handle: DbHandle;
  let cookie: string;
  let sessionId: string;
  let token: string;

  beforeAll(async () => {
    process.env.NEXTAUTH_SECRET ??= "actor-tests-secret-that-is-long-enough-0123456789";
    handle = await createTestDatabase("pglite");
    await seedDemoProject(handle.db);
    ({ cookie, sessionId } = await createTestSession(handle.db, ADA));
    token = (
      await createApiToken(handle.db, {
        actor: await actorOf(handle.db, ADA),
        input: { name: "ci", expiresInDays: null, environmentId: null },
        productionOnly: false,
      })
    ).token;
  });
  afterAll(async () => {
    await handle?.close();
  });

  const resolve = (method: string, headers: Record<string, string>, options: { allowNonBrowser?: boolean } = {}) =>
    resolveActor(caller(method, headers), { db: handle.db, ...options });

  it("takes a session's change only from Lifeboat's own pages", async () => {
    const origin = sameOriginHeaders().origin;
    await expect(resolve("POST", { cookie, origin })).resolves.toMatchObject({ kind: "user", email: ADA.email, sessionId });
    await expect(resolve("DELETE", { cookie, "sec-fetch-site": "same-origin" })).resolves.toMatchObject({ kind: "user" });
    expect(await refusal(resolve("POST", { cookie, origin: "http://evil.example" }))).toMatch(
      /^403 This request came from another site \(Origin: http:\/\/evil\.example\), so Lifeboat did not act on it/,
    );
    expect(await refusal(resolve("PUT", { cookie, "sec-fetch-site": "same-site" }))).toMatch(
      /^403 This request came from another site \(Sec-Fetch-Site: same-site\)/,
    );
    expect(await refusal(resolve("POST", { cookie }))).toMatch(/^403 A change made with a session cookie must come from Lifeboat's own pages/);
    // Reading is safe from anywhere: a link from another site may open a page.
    await expect(resolve("GET", { cookie, origin: "http://evil.example" })).resolves.toMatchObject({ kind: "user" });
  });

  it("lets a cookie with no Origin at all through only where the body carries a second secret", async () => {
    await expect(resolve("POST", { cookie }, { allowNonBrowser: true })).resolves.toMatchObject({ kind: "user" });
    expect(await refusal(resolve("POST", { cookie, "sec-fetch-site": "cross-site" }, { allowNonBrowser: true }))).toMatch(
      /^403 This request came from another site/,
    );
  });

  it("takes tokens as scripts send them, but not what a browser says another site sent", async () => {
    await expect(resolve("POST", { authorization: `Bearer ${token}` })).resolves.toMatchObject({ kind: "token", email: ADA.email });
    const basic = `Basic ${Buffer.from(`${ADA.email}:${token}`).toString("base64")}`;
    await expect(resolve("DELETE", { authorization: basic })).resolves.toMatchObject({ kind: "token" });
    expect(await refusal(resolve("POST", { authorization: basic, origin: "http://evil.example" }))).toMatch(/^403 This request came from another site/);
  });

  it("makes an operator of the operator groups, and of nobody else", async () => {
    const olga = await createTestSession(handle.db, OLGA);
    await expect(resolve("GET", { cookie: olga.cookie })).resolves.toMatchObject({ operator: true, roles: new Map() });
    await expect(resolve("GET", { cookie })).resolves.toMatchObject({ operator: false });
  });

  it("has no session once it is signed out, whatever the cookie still says", async () => {
    const other = await createTestSession(handle.db, ADA);
    await expect(resolve("GET", { cookie: other.cookie })).resolves.toMatchObject({ sessionId: other.sessionId });
    await revokeAuthSession(handle.db, { id: other.sessionId });
    await expect(resolve("GET", { cookie: other.cookie })).resolves.toBeNull();
    // A cookie from before server-side sessions (a valid JWT without a sid) is no session either.
    const unsigned = await encode({ token: { sub: ADA.sub, email: ADA.email, name: ADA.name, groups: ADA.groups }, secret: process.env.NEXTAUTH_SECRET! });
    await expect(resolve("GET", { cookie: `${SESSION_COOKIE}=${unsigned}` })).resolves.toBeNull();
  });
});
