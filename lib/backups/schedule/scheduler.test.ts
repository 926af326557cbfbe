import { eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import type { Actor } from "@/lib/auth/permissions";
import type { Db, DbHandle } from "@/lib/db/client";
import { listAuditEvents } from "@/lib/db/queries/audit";
import { acquireEnvironmentLock } from "@/lib/db/queries/locks";
import * as schema from "@/lib/db/schema";
import { backups, environmentLocks, environments, jobs } from "@/lib/db/schema";
import type { Environment } from "@/lib/db/schema";
import { seedDemoProject } from "@/lib/db/seed";
import { createTestDatabase, DATABASE_KINDS } from "@/lib/db/testing";
import { environmentSettingsSchema, updateEnvironmentSettings } from "@/lib/environments/settings";
import { CREATE_BACKUP_QUEUE } from "@/lib/backups/engine";

import { latestSlot, runScheduledBackups, SCHEDULER_ACTOR } from "./scheduler";

const at = (iso: string) => new Date(iso);

describe("latestSlot", () => {
  it("is the latest slot at or before now, in UTC", () => {
    expect(latestSlot("0 3 * * *", at("2026-01-02T03:00:00.000Z"))?.toISOString()).toBe("2026-01-02T03:00:00.000Z");
    expect(latestSlot("0 3 * * *", at("2026-01-02T02:59:59.999Z"))?.toISOString()).toBe("2026-01-01T03:00:00.000Z");
    expect(latestSlot("*/15 * * * *", at("2026-01-02T10:44:10.000Z"))?.toISOString()).toBe("2026-01-02T10:30:00.000Z");
    expect(latestSlot("not a cron", at("2026-01-02T10:44:10.000Z"))).toBeNull();
  });
});

describe.each(DATABASE_KINDS)("backup scheduler on %s", (kind) => {
  let handle: DbHandle & { url?: string };
  /** A second instance: on PostgreSQL its own connection pool, as another app process has. */
  let other: Db;
  let closeOther: () => Promise<void> = async () => {};
  let dev: Environment;

  const source = { dbEngine: "postgresql" as const, dbHost: "db.internal", dbName: "lportal", dbUser: "liferay", volumePath: "/var/liferay/data" };

  async function configure(values: Partial<Environment>): Promise<Environment> {
    const [environment] = await handle.db.update(environments).set(values).where(eq(environments.id, dev.id)).returning();
    return environment!;
  }

  const scheduledBackups = () => handle.db.select().from(backups).where(eq(backups.origin, "scheduled"));
  const lastSlot = async () => (await handle.db.select().from(environments).where(eq(environments.id, dev.id)))[0]!.scheduleLastSlot?.toISOString() ?? null;

  beforeAll(async () => {
    handle = await createTestDatabase(kind);
    await seedDemoProject(handle.db);
    dev = (await handle.db.select().from(environments).where(eq(environments.name, "dev")))[0]!;
    if (kind === "postgres") {
      const client = postgres(handle.url!, { max: 3, onnotice: () => {} });
      other = drizzle(client, { schema }) as unknown as Db;
      closeOther = () => client.end({ timeout: 5 });
    } else {
      other = handle.db; // PGlite is one process's database: "instances" share it.
    }
  });

  afterAll(async () => {
    await closeOther();
    await handle?.close();
  });

  beforeEach(async () => {
    await handle.db.execute(sql`delete from environment_locks`);
    await handle.db.execute(sql`delete from jobs`);
    await handle.db.execute(sql`delete from backups`);
    await handle.db.execute(sql`delete from audit_events`);
    await handle.db
      .update(environments)
      .set({ scheduleCron: null, scheduleLastSlot: null })
      .where(sql`true`);
  });

  it("two instances ticking at once start exactly one backup per slot, as the scheduler, on the job queue", async () => {
    await configure({ ...source, scheduleCron: "0 3 * * *" });
    const now = at("2026-03-10T03:00:20.000Z");
    const [a, b] = await Promise.all([runScheduledBackups({ db: handle.db, now }), runScheduledBackups({ db: other, now })]);
    expect([...a, ...b]).toHaveLength(1);
    expect([...a, ...b][0]).toMatchObject({ outcome: "queued", environmentId: dev.id });
    const made = await scheduledBackups();
    expect(made).toHaveLength(1);
    expect(made[0]).toMatchObject({ status: "queued", origin: "scheduled", createdBy: SCHEDULER_ACTOR, createdByType: "system", environmentId: dev.id });
    expect(await lastSlot()).toBe("2026-03-10T03:00:00.000Z");
    const queued = await handle.db.select().from(jobs).where(eq(jobs.queue, CREATE_BACKUP_QUEUE));
    expect(queued.map((j) => j.payload)).toEqual([{ backupId: made[0]!.id }]);

    // Later ticks inside the same slot, on either instance: nothing more.
    await Promise.all([
      runScheduledBackups({ db: handle.db, now: at("2026-03-10T03:00:50.000Z") }),
      runScheduledBackups({ db: other, now: at("2026-03-10T03:05:00.000Z") }),
    ]);
    expect(await scheduledBackups()).toHaveLength(1);
  });

  it("races many ticks over several slots: one backup per slot, never two", async () => {
    await configure({ ...source, scheduleCron: "*/5 * * * *" });
    const slots = ["2026-03-10T10:00:01.000Z", "2026-03-10T10:05:02.000Z", "2026-03-10T10:10:03.000Z"];
    for (const now of slots) {
      const instances = Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? handle.db : other));
      const runs = await Promise.all(instances.map((db) => runScheduledBackups({ db, now: at(now) })));
      // One outcome in all: a second claim would show as a second backup or as a "busy" skip.
      expect(runs.flat().map((o) => o.outcome)).toEqual(["queued"]);
      // The environment lock of the queued backup would make the next slot "busy": let its "run" finish.
      await handle.db.delete(environmentLocks).where(eq(environmentLocks.environmentId, dev.id));
    }
    expect(await scheduledBackups()).toHaveLength(3);
    expect(await listAuditEvents(handle.db, { environmentId: dev.id })).toEqual([]);
  });

  it("does not backfill: a schedule first seen a week after its slots records the latest slot and runs none; the next slot runs", async () => {
    await configure({ ...source, scheduleCron: "0 3 * * *" });
    const outcomes = await runScheduledBackups({ db: handle.db, now: at("2026-03-17T14:00:00.000Z") });
    expect(outcomes).toEqual([{ environmentId: dev.id, slot: at("2026-03-17T03:00:00.000Z"), outcome: "not_run" }]);
    expect(await scheduledBackups()).toHaveLength(0);
    expect(await lastSlot()).toBe("2026-03-17T03:00:00.000Z");

    expect(await runScheduledBackups({ db: handle.db, now: at("2026-03-18T02:59:59.000Z") })).toEqual([]);
    const next = await runScheduledBackups({ db: handle.db, now: at("2026-03-18T03:00:30.000Z") });
    expect(next.map((o) => o.outcome)).toEqual(["queued"]);
    expect(await scheduledBackups()).toHaveLength(1);
    expect(await lastSlot()).toBe("2026-03-18T03:00:00.000Z");
  });

  it("runs a schedule first seen within the grace window", async () => {
    await configure({ ...source, scheduleCron: "0 3 * * *" });
    expect((await runScheduledBackups({ db: handle.db, now: at("2026-03-17T03:09:00.000Z") })).map((o) => o.outcome)).toEqual(["queued"]);
  });

  it("after an outage runs the latest missed slot once, not every missed one", async () => {
    await configure({ ...source, scheduleCron: "0 * * * *", scheduleLastSlot: at("2026-03-10T03:00:00.000Z") });
    const outcomes = await runScheduledBackups({ db: handle.db, now: at("2026-03-17T12:34:00.000Z") });
    expect(outcomes).toEqual([expect.objectContaining({ outcome: "queued", slot: at("2026-03-17T12:00:00.000Z") })]);
    expect(await scheduledBackups()).toHaveLength(1);
  });

  it("records a slot whose environment is busy as skipped, and one without a source as failed, in the audit log", async () => {
    await configure({ ...source, scheduleCron: "0 3 * * *" });
    await acquireEnvironmentLock(handle.db, {
      environmentId: dev.id,
      operation: "restore",
      holder: "job:00000000-0000-0000-0000-000000000000:alice@acme.test",
      ttlMs: 60 * 60_000,
    });
    const busy = await runScheduledBackups({ db: handle.db, now: at("2026-03-10T03:00:05.000Z") });
    expect(busy).toEqual([expect.objectContaining({ outcome: "skipped", reason: expect.stringMatching(/^acme-dev is busy: a restore .*alice@acme\.test/) })]);
    expect(await scheduledBackups()).toHaveLength(0);
    let audit = await listAuditEvents(handle.db, { environmentId: dev.id });
    expect(audit).toEqual([
      expect.objectContaining({
        action: "backup.schedule_skipped",
        actor: SCHEDULER_ACTOR,
        actorType: "system",
        detail: expect.objectContaining({ slot: "2026-03-10T03:00:00.000Z", reason: busy[0]!.outcome === "skipped" ? busy[0]!.reason : "" }),
      }),
    ]);
    // Ticks later in the same slot do not record it again.
    await runScheduledBackups({ db: handle.db, now: at("2026-03-10T03:01:05.000Z") });
    expect(await listAuditEvents(handle.db, { environmentId: dev.id })).toHaveLength(1);

    await handle.db.delete(environmentLocks).where(eq(environmentLocks.environmentId, dev.id));
    await configure({ dbHost: null, volumePath: null });
    const failed = await runScheduledBackups({ db: handle.db, now: at("2026-03-11T03:00:05.000Z") });
    expect(failed).toEqual([
      expect.objectContaining({ outcome: "failed", reason: expect.stringMatching(/has no database connection .* and no volume folder configured/) }),
    ]);
    audit = await listAuditEvents(handle.db, { environmentId: dev.id });
    expect(audit[0]).toMatchObject({
      action: "backup.schedule_failed",
      actorType: "system",
      detail: expect.objectContaining({ slot: "2026-03-11T03:00:00.000Z", cron: "0 3 * * *" }),
    });
  });

  it("a changed schedule starts afresh: the settings clear the recorded slot, so old slots are not run late", async () => {
    process.env.NEXTAUTH_SECRET ??= "scheduler-test-secret-0123456789abcdef";
    await configure({ ...source, scheduleCron: "0 3 * * *", scheduleLastSlot: at("2026-03-01T03:00:00.000Z") });
    const admin: Actor = { kind: "user", id: "a", email: "alice@acme.test", name: null, groups: [], roles: new Map([[dev.id, "admin"]]), operator: false };
    const current = (await handle.db.select().from(environments).where(eq(environments.id, dev.id)))[0]!;
    const input = environmentSettingsSchema.parse({ scheduleCron: "0 4 * * *" });
    await updateEnvironmentSettings(handle.db, { actor: admin, environment: current, input });
    expect(await lastSlot()).toBeNull();
    // First sight of the new schedule at 14:00: nothing runs until 04:00 tomorrow.
    expect((await runScheduledBackups({ db: handle.db, now: at("2026-03-17T14:00:00.000Z") })).map((o) => o.outcome)).toEqual(["not_run"]);
    expect(await scheduledBackups()).toHaveLength(0);
  });
});
