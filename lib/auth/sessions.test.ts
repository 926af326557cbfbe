import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { DbHandle } from "@/lib/db/client";
import { createTestDatabase, DATABASE_KINDS } from "@/lib/db/testing";

import { createAuthSession, isAuthSessionActive, pruneAuthSessions, revokeAuthSession } from "./sessions";

describe.each(DATABASE_KINDS)("session records on %s", (kind) => {
  let handle: DbHandle;
  beforeAll(async () => {
    handle = await createTestDatabase(kind);
  });
  afterAll(async () => {
    await handle?.close();
  });

  it("are active until revoked or expired, for their own person only", async () => {
    const now = new Date("2026-03-01T10:00:00.000Z");
    const id = await createAuthSession(handle.db, { userId: "ada", now, maxAgeSeconds: 3600 });
    expect(await isAuthSessionActive(handle.db, { id, userId: "ada", now })).toBe(true);
    expect(await isAuthSessionActive(handle.db, { id, userId: "max", now })).toBe(false);
    expect(await isAuthSessionActive(handle.db, { id, userId: "ada", now: new Date(now.getTime() + 3600_000) })).toBe(false);
    await revokeAuthSession(handle.db, { id, now });
    expect(await isAuthSessionActive(handle.db, { id, userId: "ada", now })).toBe(false);
  });

  it("are pruned a week after they expired, and not before", async () => {
    const now = new Date("2026-03-20T10:00:00.000Z");
    const old = await createAuthSession(handle.db, { userId: "ada", now: new Date("2026-03-01T10:00:00.000Z"), maxAgeSeconds: 3600 });
    const recent = await createAuthSession(handle.db, { userId: "ada", now: new Date("2026-03-19T10:00:00.000Z"), maxAgeSeconds: 3600 });
    expect(await pruneAuthSessions(handle.db, { now })).toBeGreaterThanOrEqual(1);
    expect(await isAuthSessionActive(handle.db, { id: old, userId: "ada", now: new Date("2026-03-01T10:30:00.000Z") })).toBe(false);
    expect(await isAuthSessionActive(handle.db, { id: recent, userId: "ada", now: new Date("2026-03-19T10:30:00.000Z") })).toBe(true);
  });
});
