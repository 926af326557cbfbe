import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { generateBackupId } from "@/lib/backups/backup-id";

import type { DbHandle } from "./client";
import { listAuditEvents, recordAuditEvent } from "./queries/audit";
import { acquireEnvironmentLock, getEnvironmentLock, releaseEnvironmentLock, renewEnvironmentLock } from "./queries/locks";
import { getEnvironment, listEnvironments, listProjects } from "./queries/projects";
import { resolveEnvironmentRoles } from "./queries/roles";
import { getUserById, upsertUserOnSignIn } from "./queries/users";
import { backupFiles, backups, environmentLocks } from "./schema";
import { DEMO_GROUPS, seedDemoProject } from "./seed";
import { createTestDatabase, DATABASE_KINDS } from "./testing";

// The same migrations and the same data-access code on the embedded database
// (PGlite) and on the PostgreSQL server production uses.
describe.each(DATABASE_KINDS)("data layer on %s", (kind) => {
  let handle: DbHandle;

  beforeAll(async () => {
    handle = await createTestDatabase(kind);
    await seedDemoProject(handle.db);
    await seedDemoProject(handle.db); // idempotent: every start runs it
  });

  afterAll(async () => {
    await handle?.close();
  });

  it("runs on the expected engine", async () => {
    const result = await handle.db.execute<{ version: string }>(sql`select version() as version`);
    const rows = Array.isArray(result) ? result : (result as unknown as { rows: { version: string }[] }).rows;
    expect(rows[0]?.version).toMatch(/PostgreSQL/);
    expect(handle.kind).toBe(kind);
  });

  it("seeds the demo project once, production first", async () => {
    expect((await listProjects(handle.db)).map((p) => p.id)).toEqual(["acme"]);
    const envs = await listEnvironments(handle.db, { projectIds: ["acme"] });
    expect(envs.map((e) => e.name)).toEqual(["prd", "dev", "uat"]);
    expect(envs.filter((e) => e.isProduction).map((e) => e.name)).toEqual(["prd"]);
    expect((await listEnvironments(handle.db, { productionOnly: true })).map((e) => e.name)).toEqual(["prd"]);
    expect(await listEnvironments(handle.db, { projectIds: [] })).toEqual([]);
  });

  it("resolves roles from groups, strongest binding winning", async () => {
    const prd = await getEnvironment(handle.db, { projectId: "acme", name: "prd" });
    const uat = await getEnvironment(handle.db, { projectId: "acme", name: "uat" });
    expect(prd && uat).toBeTruthy();

    const admin = await resolveEnvironmentRoles(handle.db, { groups: [DEMO_GROUPS.admins] });
    expect(admin.size).toBe(3);
    expect(admin.get(prd!.id)).toBe("admin");

    const member = await resolveEnvironmentRoles(handle.db, { groups: [DEMO_GROUPS.members] });
    expect([...member.values()]).toEqual(["member", "member", "member"]);

    const nonprod = await resolveEnvironmentRoles(handle.db, { groups: [DEMO_GROUPS.nonprodAdmins] });
    expect(nonprod.get(prd!.id)).toBe("member");
    expect(nonprod.get(uat!.id)).toBe("admin");

    expect((await resolveEnvironmentRoles(handle.db, { groups: ["strangers"] })).size).toBe(0);
    expect((await resolveEnvironmentRoles(handle.db, { groups: [] })).size).toBe(0);
  });

  it("upserts users at sign-in with their latest groups", async () => {
    await upsertUserOnSignIn(handle.db, { id: "sub-1", email: "a@example.test", name: "A", groups: ["g1"] });
    await upsertUserOnSignIn(handle.db, { id: "sub-1", email: "a@example.test", name: "A B", groups: ["g1", "g2"] });
    const user = await getUserById(handle.db, { id: "sub-1" });
    expect(user?.name).toBe("A B");
    expect(user?.groups).toEqual(["g1", "g2"]);
  });

  it("stores backups with their files, bigint sizes intact, and cascades deletes", async () => {
    const env = await getEnvironment(handle.db, { projectId: "acme", name: "dev" });
    const id = generateBackupId("acme");
    await handle.db.insert(backups).values({ id, environmentId: env!.id, origin: "manual", createdBy: "test" });
    const big = 3 * 1024 ** 4 + 7; // 3 TiB + 7 bytes: beyond 32-bit, exact in a JS number
    await handle.db.insert(backupFiles).values({
      backupId: id,
      kind: "database",
      fileName: "database.gz",
      sizeBytes: big,
      sha256: "0".repeat(64),
      storageKey: `backups/${id}/database.gz`,
    });
    const [file] = await handle.db.select().from(backupFiles).where(eq(backupFiles.backupId, id));
    expect(file?.sizeBytes).toBe(big);
    await expect(
      handle.db.insert(backupFiles).values({ backupId: id, kind: "database", fileName: "x", sizeBytes: 1, sha256: "x", storageKey: "x" }),
    ).rejects.toThrow();
    await handle.db.delete(backups).where(eq(backups.id, id));
    expect(await handle.db.select().from(backupFiles).where(eq(backupFiles.backupId, id))).toEqual([]);
  });

  it("records and lists audit events newest first", async () => {
    const env = await getEnvironment(handle.db, { projectId: "acme", name: "uat" });
    await recordAuditEvent(handle.db, { actor: "a@example.test", actorType: "user", action: "first", environmentId: env!.id });
    await recordAuditEvent(handle.db, { actor: "a@example.test", actorType: "user", action: "second", environmentId: env!.id, detail: { bytes: 5 } });
    const events = await listAuditEvents(handle.db, { environmentId: env!.id });
    expect(events.map((e) => e.action)).toEqual(["second", "first"]);
    expect(events[0]?.detail).toEqual({ bytes: 5 });
  });

  it("gives an environment's lock to exactly one of many racing callers", async () => {
    const env = await getEnvironment(handle.db, { projectId: "acme", name: "prd" });
    const environmentId = env!.id;
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => acquireEnvironmentLock(handle.db, { environmentId, operation: "backup", holder: `worker-${i}`, ttlMs: 60_000 })),
    );
    const winners = results.filter((r) => r.acquired);
    expect(winners).toHaveLength(1);
    const winner = winners[0]!.acquired ? winners[0]!.lock.holder : "";
    for (const loser of results.filter((r) => !r.acquired)) {
      expect(loser.acquired ? "" : loser.heldBy.holder).toBe(winner);
    }

    expect(await renewEnvironmentLock(handle.db, { environmentId, holder: "someone-else", ttlMs: 60_000 })).toBe(false);
    expect(await renewEnvironmentLock(handle.db, { environmentId, holder: winner, ttlMs: 60_000 })).toBe(true);

    await releaseEnvironmentLock(handle.db, { environmentId, holder: "someone-else" });
    expect((await getEnvironmentLock(handle.db, { environmentId }))?.holder).toBe(winner);
    await releaseEnvironmentLock(handle.db, { environmentId, holder: winner });
    expect(await getEnvironmentLock(handle.db, { environmentId })).toBeUndefined();
  });

  it("lets a new holder take over a lock whose holder stopped renewing it", async () => {
    const env = await getEnvironment(handle.db, { projectId: "acme", name: "dev" });
    const environmentId = env!.id;
    const first = await acquireEnvironmentLock(handle.db, { environmentId, operation: "restore", holder: "dead", ttlMs: 60_000 });
    expect(first.acquired).toBe(true);
    await handle.db
      .update(environmentLocks)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(environmentLocks.environmentId, environmentId));
    const second = await acquireEnvironmentLock(handle.db, { environmentId, operation: "upload", holder: "alive", ttlMs: 60_000 });
    expect(second.acquired && second.lock.holder).toBe("alive");
    expect(await renewEnvironmentLock(handle.db, { environmentId, holder: "dead", ttlMs: 60_000 })).toBe(false);
    await releaseEnvironmentLock(handle.db, { environmentId, holder: "alive" });
  });
});
