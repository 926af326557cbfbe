import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { routeCaller } from "@/lib/http/testing";

import type { DbHandle } from "@/lib/db/client";
import { upsertUserOnSignIn } from "@/lib/db/queries/users";
import { DEMO_GROUPS, seedDemoProject } from "@/lib/db/seed";
import { createTestDatabase } from "@/lib/db/testing";

/*
 * The Next route handlers as Next calls them, with the request's headers and
 * the next-auth session replaced by what each test sends: the token paths of
 * getActor/requireApiActor and the session-only token routes.
 */
const request = routeCaller();

const { GET: listEnvironments } = await import("@/app/api/v1/environments/route");
const { GET: listTokens, POST: createToken } = await import("./route");
const { DELETE: revokeToken } = await import("./[tokenId]/route");

const DB_KEY = Symbol.for("lifeboat.db");
const ADA = { id: "ada", email: "admin@acme.test", name: "Ada Admin", groups: [DEMO_GROUPS.admins] };

function post(body: unknown): Request {
  return request.request("http://localhost/api/v1/tokens", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

describe("token routes and token authentication in route handlers", () => {
  let handle: DbHandle;

  beforeAll(async () => {
    handle = await createTestDatabase("pglite");
    await seedDemoProject(handle.db);
    await upsertUserOnSignIn(handle.db, ADA);
    (globalThis as Record<symbol, unknown>)[DB_KEY] = handle;
  });
  afterAll(async () => {
    delete (globalThis as Record<symbol, unknown>)[DB_KEY];
    await handle?.close();
  });
  beforeEach(() => {
    request.signOut();
  });

  async function createAsAda(body: unknown) {
    await request.signIn(ADA);
    const response = await createToken(post(body), undefined as never);
    request.signOut();
    return response;
  }

  it("creates a scoped token for a session, shows it once, and lists it without the secret", async () => {
    const response = await createAsAda({ name: "ci", expiresInDays: 30, scope: { project: "acme", environment: "uat" } });
    expect(response.status).toBe(201);
    const { token, response: view } = (await response.json()) as { token: string; response: { id: string; scope: unknown } };
    expect(token).toMatch(/^lbt_/);
    expect(view.scope).toEqual({ projectId: "acme", environment: "uat" });

    await request.signIn(ADA);
    const listed = await listTokens(request.request("http://localhost/api/v1/tokens"), undefined as never);
    const text = await listed.text();
    expect(listed.status).toBe(200);
    expect(text).toContain(view.id);
    expect(text).not.toContain(token);
  });

  it("answers with the scoped environment only to a Bearer token, and 401 once it is revoked", async () => {
    const created = (await (await createAsAda({ name: "scoped", expiresInDays: null, scope: { project: "acme", environment: "uat" } })).json()) as {
      token: string;
      response: { id: string };
    };
    request.useHeaders({ authorization: `Bearer ${created.token}` });
    const ok = await listEnvironments(request.request("http://localhost/api/v1/environments"), undefined as never);
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as { response: { name: string; role: string }[] };
    expect(body.response.map((e) => `${e.name}:${e.role}`)).toEqual(["uat:admin"]);

    // A token may not mint or list tokens.
    expect((await createToken(post({ name: "minted", expiresInDays: null }), undefined as never)).status).toBe(403);
    expect((await listTokens(request.request("http://localhost/api/v1/tokens"), undefined as never)).status).toBe(403);

    await request.signIn(ADA);
    const revoked = await revokeToken(request.request("http://localhost", { method: "DELETE" }), { params: Promise.resolve({ tokenId: created.response.id }) });
    expect(revoked.status).toBe(204);

    request.signOut();
    request.useHeaders({ "dxpcloud-authorization": `Bearer ${created.token}` });
    const refused = await listEnvironments(request.request("http://localhost/api/v1/environments"), undefined as never);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ error: { code: "unauthorized", message: "The API token has been revoked." } });
  });

  it("answers 401 without credentials and 400 for a scope the person cannot see", async () => {
    expect((await listTokens(request.request("http://localhost/api/v1/tokens"), undefined as never)).status).toBe(401);
    const bad = await createAsAda({ name: "x", expiresInDays: 7, scope: { project: "acme", environment: "nope" } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/acme-nope/);
    const noName = await createAsAda({ name: " ", expiresInDays: 7 });
    expect(noName.status).toBe(400);
  });
});
