import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";

import type { Db, DbHandle } from "@/lib/db/client";
import { rateLimitWindows } from "@/lib/db/schema";
import * as schema from "@/lib/db/schema";
import { DEMO_GROUPS, seedDemoProject } from "@/lib/db/seed";
import { createTestDatabase, DATABASE_KINDS } from "@/lib/db/testing";

import { sessionCookie } from "@/lib/auth/testing";
import type { SessionUser } from "@/lib/auth/testing";
import { resolveEnvironmentRoles } from "@/lib/db/queries/roles";
import { createApiToken } from "@/lib/tokens/tokens";

import { consumeRateLimit, pruneRateLimitWindows, RATE_LIMIT_WINDOW_MS, rateLimitKey } from "./rate-limit";

async function actorOf(handle: DbHandle, user: SessionUser) {
  await sessionCookie(handle.db, user);
  return {
    kind: "user" as const,
    id: user.sub,
    email: user.email,
    name: user.name,
    groups: user.groups,
    roles: await resolveEnvironmentRoles(handle.db, user),
    operator: false,
  };
}

/*
 * The limit itself against both databases, two instances sharing one
 * PostgreSQL, and the limit as every /api/v1 route applies it (apiRoute),
 * with API_RATE_LIMIT=3 for this file.
 */
vi.hoisted(() => {
  process.env.API_RATE_LIMIT = "3";
  process.env.NEXTAUTH_SECRET ??= "rate-limit-tests-secret-0123456789abcdef";
});

const { GET: listEnvironments } = await import("@/app/api/v1/environments/route");

const DB_KEY = Symbol.for("lifeboat.db");
const MINUTE = new Date("2026-03-01T10:15:00.000Z");
const at = (seconds: number) => new Date(MINUTE.getTime() + seconds * 1000);

describe.each(DATABASE_KINDS)("consumeRateLimit on %s", (kind) => {
  let handle: DbHandle;
  beforeAll(async () => {
    handle = await createTestDatabase(kind);
  });
  afterAll(async () => {
    await handle?.close();
  });

  it("lets N requests through with Remaining counting down, refuses N+1, and starts again next window", async () => {
    const key = `user:${kind}-countdown`;
    const seen = [];
    for (let i = 0; i < 4; i++) seen.push(await consumeRateLimit(handle.db, { key, limit: 3, now: at(10 + i), pruneChance: 0 }));
    expect(seen.map((s) => [s.remaining, s.exceeded])).toEqual([
      [2, false],
      [1, false],
      [0, false],
      [0, true],
    ]);
    expect(seen[3]?.resetAt).toEqual(new Date(MINUTE.getTime() + RATE_LIMIT_WINDOW_MS));
    const next = await consumeRateLimit(handle.db, { key, limit: 3, now: at(60), pruneChance: 0 });
    expect(next).toMatchObject({ remaining: 2, exceeded: false });
    // Another caller has a count of its own.
    expect(await consumeRateLimit(handle.db, { key: `${key}-other`, limit: 3, now: at(20), pruneChance: 0 })).toMatchObject({ remaining: 2 });
  });

  it("prunes windows that ended long ago and keeps recent ones", async () => {
    const key = `token:${kind}-prune`;
    await consumeRateLimit(handle.db, { key, limit: 3, now: new Date(MINUTE.getTime() - 60 * RATE_LIMIT_WINDOW_MS), pruneChance: 0 });
    await consumeRateLimit(handle.db, { key, limit: 3, now: at(5), pruneChance: 0 });
    expect(await pruneRateLimitWindows(handle.db, { now: at(30) })).toBeGreaterThanOrEqual(1);
    const left = await handle.db.select().from(rateLimitWindows);
    expect(left.filter((w) => w.key === key).map((w) => w.windowStart)).toEqual([MINUTE]);
  });
});

describe("two instances on one PostgreSQL", () => {
  let handle: DbHandle & { url?: string };
  let second: ReturnType<typeof postgres>;
  let secondDb: Db;
  beforeAll(async () => {
    handle = await createTestDatabase("postgres");
    second = postgres(handle.url ?? "", { max: 5, onnotice: () => {} });
    secondDb = drizzle(second, { schema }) as unknown as Db;
  });
  afterAll(async () => {
    await second?.end({ timeout: 5 });
    await handle?.close();
  });

  it("share one count: 10 concurrent requests from both see 10 distinct counts and the limit holds", async () => {
    const key = "token:shared";
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => consumeRateLimit(i % 2 === 0 ? handle.db : secondDb, { key, limit: 6, now: at(1), pruneChance: 0 })),
    );
    expect(results.filter((r) => !r.exceeded)).toHaveLength(6);
    expect(results.filter((r) => r.exceeded)).toHaveLength(4);
    expect(results.map((r) => r.remaining).toSorted()).toEqual([0, 0, 0, 0, 0, 1, 2, 3, 4, 5]);
  });
});

describe("the limit on /api/v1 routes (apiRoute), API_RATE_LIMIT=3", () => {
  let handle: DbHandle;
  const ADA = { sub: "ada", email: "admin@acme.test", name: "Ada Admin", groups: [DEMO_GROUPS.admins] };
  const MAX = { sub: "max", email: "member@acme.test", name: "Max Member", groups: [DEMO_GROUPS.members] };
  let headers: Record<string, string> = {};
  const call = () => listEnvironments(new Request("http://localhost/api/v1/environments", { headers }), undefined as never);
  const as = async (user: SessionUser) => {
    headers = { cookie: await sessionCookie(handle.db, user) };
  };

  beforeAll(async () => {
    handle = await createTestDatabase("pglite");
    await seedDemoProject(handle.db);
    (globalThis as Record<symbol, unknown>)[DB_KEY] = handle;
    // Only Date is faked, so the whole test sits in one window whatever the wall clock says.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(at(2));
  });
  afterAll(async () => {
    vi.useRealTimers();
    delete (globalThis as Record<symbol, unknown>)[DB_KEY];
    await handle?.close();
  });
  beforeEach(() => {
    headers = {};
  });

  it("answers 3 requests with the headers counting down, then 429 rate_limited with Retry-After, still with the headers", async () => {
    await as(ADA);
    const remaining: (string | null)[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await call();
      expect(response.status).toBe(200);
      expect(response.headers.get("x-ratelimit-limit")).toBe("3");
      expect(response.headers.get("x-ratelimit-reset")).toBe(String((MINUTE.getTime() + RATE_LIMIT_WINDOW_MS) / 1000));
      remaining.push(response.headers.get("x-ratelimit-remaining"));
    }
    expect(remaining).toEqual(["2", "1", "0"]);

    const refused = await call();
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("58");
    expect(refused.headers.get("x-ratelimit-remaining")).toBe("0");
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("rate_limited");
    expect(body.error.message).toMatch(/3 a minute/);

    // Somebody else is not held back by Ada's requests.
    await as(MAX);
    const other = await call();
    expect(other.status).toBe(200);
    expect(other.headers.get("x-ratelimit-remaining")).toBe("2");
  });

  it("refuses a request without credentials with 401 before counting anything", async () => {
    const before = await handle.db.select().from(rateLimitWindows);
    const response = await call();
    expect(response.status).toBe(401);
    expect(response.headers.get("x-ratelimit-limit")).toBeNull();
    expect(await handle.db.select().from(rateLimitWindows)).toEqual(before);
  });

  it("counts a person, whether through the browser or any of their tokens: more tokens buy no more requests", async () => {
    expect(rateLimitKey({ id: "ada" })).toBe("user:ada");
    vi.setSystemTime(at(62)); // the next window, so the earlier tests' requests do not count
    const uma = { sub: "uma", email: "nonprod-admin@acme.test", name: "Uma Nonprod", groups: [DEMO_GROUPS.nonprodAdmins] };
    const person = await actorOf(handle, uma);
    const tokens = await Promise.all(
      ["one", "two"].map(
        async (name) =>
          (await createApiToken(handle.db, { actor: person, input: { name, expiresInDays: null, environmentId: null }, productionOnly: false })).token,
      ),
    );
    const statuses: number[] = [];
    for (const credential of [...tokens, "session", ...tokens]) {
      headers = credential === "session" ? { cookie: await sessionCookie(handle.db, uma) } : { authorization: `Bearer ${credential}` };
      statuses.push((await call()).status);
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
  });
});
