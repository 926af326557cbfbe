import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import type { DbHandle } from "@/lib/db/client";
import { listBackups } from "@/lib/db/queries/backups";
import { listAuditEvents } from "@/lib/db/queries/audit";
import { acquireEnvironmentLock } from "@/lib/db/queries/locks";
import { backupFiles, backups, environments, restores } from "@/lib/db/schema";
import type { Backup, Environment } from "@/lib/db/schema";
import { seedDemoProject } from "@/lib/db/seed";
import { createTestDatabase, DATABASE_KINDS } from "@/lib/db/testing";
import { createStorage } from "@/lib/storage";
import type { Storage } from "@/lib/storage/types";

import { previewRetention, retentionOfPage } from "./explain";
import { GFS_TIERS, judgeBackups, periodOf, policyOf } from "./policy";
import { applyRetention, expiredBackups } from "./retention";
import type { RetentionCandidate } from "./retention";
import { insertTestBackup } from "./testing";

const NOW = new Date("2026-06-30T12:00:00.000Z");
const DAY = 24 * 60 * 60 * 1000;

function candidate(id: string, daysAgo: number, status: Backup["status"] = "completed"): RetentionCandidate {
  return { id, status, createdAt: new Date(NOW.getTime() - daysAgo * DAY) };
}

describe("expiredBackups (which backups a policy expires)", () => {
  // Deliberately out of order: the rules sort by age themselves.
  const list = [candidate("d3", 3), candidate("d0", 0), candidate("d20", 20), candidate("d1", 1), candidate("d9", 9), candidate("d40", 40)];
  const ids = (policy: { keepCount: number | null; keepDays: number | null }, of = list) =>
    expiredBackups(of, policy, NOW)
      .map((e) => `${e.id}:${e.rule}`)
      .sort();

  it("keep count keeps the N newest completed backups", () => {
    expect(ids({ keepCount: 3, keepDays: null })).toEqual(["d20:keep_count", "d40:keep_count", "d9:keep_count"]);
    expect(ids({ keepCount: 6, keepDays: null })).toEqual([]);
    expect(ids({ keepCount: 1, keepDays: null })).toEqual(["d1:keep_count", "d20:keep_count", "d3:keep_count", "d40:keep_count", "d9:keep_count"]);
  });

  it("keep days deletes completed backups older than N days", () => {
    expect(ids({ keepCount: null, keepDays: 10 })).toEqual(["d20:keep_days", "d40:keep_days"]);
    expect(ids({ keepCount: null, keepDays: 2 })).toEqual(["d20:keep_days", "d3:keep_days", "d40:keep_days", "d9:keep_days"]);
  });

  it("with both, a backup goes when either rule says so", () => {
    // Count alone would keep d9 and d20 (5 newest), days alone d9 (< 10 days): together only the four newest under 10 days stay.
    expect(ids({ keepCount: 5, keepDays: 10 })).toEqual(["d20:keep_days", "d40:keep_count"]);
    expect(ids({ keepCount: 2, keepDays: 30 })).toEqual(["d20:keep_count", "d3:keep_count", "d40:keep_count", "d9:keep_count"]);
  });

  it("never expires the newest completed backup, even older than the days kept, nor queued or running ones", () => {
    const old = [
      candidate("a60", 60),
      candidate("b90", 90),
      candidate("run", 100, "running"),
      candidate("q", 120, "queued"),
      candidate("new-failed", 1, "failed"),
    ];
    expect(ids({ keepCount: null, keepDays: 7 }, old)).toEqual(["b90:keep_days"]);
    expect(ids({ keepCount: 1, keepDays: 7 }, old)).toEqual(["b90:keep_count"]);
  });

  it("failed backups go by age only, under keep days", () => {
    const withFailed = [...list, candidate("f2", 2, "failed"), candidate("f15", 15, "failed")];
    expect(ids({ keepCount: 1, keepDays: null }, withFailed).filter((e) => e.startsWith("f"))).toEqual([]);
    expect(ids({ keepCount: null, keepDays: 10 }, withFailed).filter((e) => e.startsWith("f"))).toEqual(["f15:keep_days"]);
  });
});

describe.each(DATABASE_KINDS)("retention on %s", (kind) => {
  let handle: DbHandle;
  let storage: Storage;
  let root: string;
  let uat: Environment;
  let dev: Environment;

  const remaining = async (environment: Environment) =>
    (await handle.db.select({ id: backups.id }).from(backups).where(eq(backups.environmentId, environment.id))).map((b) => b.id).sort();
  const stored = async (backupId: string) => {
    const keys: string[] = [];
    for await (const object of storage.list(`backups/${backupId}/`)) keys.push(object.key);
    return keys;
  };

  beforeAll(async () => {
    handle = await createTestDatabase(kind);
    await seedDemoProject(handle.db);
    root = await mkdtemp(path.join(tmpdir(), "lifeboat-retention-"));
    storage = createStorage({ driver: "local", root });
    const byName = async (name: string) => (await handle.db.select().from(environments).where(eq(environments.name, name)))[0]!;
    uat = await byName("uat");
    dev = await byName("dev");
  });

  afterAll(async () => {
    await handle?.close();
    await rm(root, { recursive: true, force: true });
  });

  beforeEach(async () => {
    await handle.db.execute(sql`delete from environment_locks`);
    await handle.db.execute(sql`delete from restores`);
    await handle.db.execute(sql`delete from backups`);
    await handle.db.execute(sql`delete from audit_events`);
    await handle.db
      .update(environments)
      .set({
        retentionKeepCount: null,
        retentionDays: null,
        retentionKeepLast: null,
        retentionKeepHourly: null,
        retentionKeepDaily: null,
        retentionKeepWeekly: null,
        retentionKeepMonthly: null,
        retentionKeepYearly: null,
      })
      .where(sql`true`);
  });

  const make = (environment: Environment, daysAgo: number, status?: Backup["status"], pinned?: boolean) =>
    insertTestBackup({ db: handle.db, storage }, { environment, now: NOW, daysAgo, status, pinned });

  it("keeps the right backups: the N newest within the days kept, deletes the rest with their files, and audits each as the system", async () => {
    await handle.db.update(environments).set({ retentionKeepCount: 3, retentionDays: 10 }).where(eq(environments.id, uat.id));
    const [d0, d2, d5, d8, d12, d30] = [
      await make(uat, 0),
      await make(uat, 2),
      await make(uat, 5),
      await make(uat, 8),
      await make(uat, 12),
      await make(uat, 30),
    ];
    const failedOld = await make(uat, 11, "failed");
    const failedNew = await make(uat, 1, "failed");
    const running = await make(uat, 40, "running");
    // Another environment without rules: untouched.
    const devOld = await make(dev, 400);

    const summary = await applyRetention({ db: handle.db, storage, now: NOW });
    expect(summary.deleted.map((d) => `${d.backupId}:${d.rule}`).sort()).toEqual(
      [`${d8!.id}:keep_count`, `${d12!.id}:keep_count`, `${d30!.id}:keep_count`, `${failedOld.id}:keep_days`].sort(),
    );
    expect(await remaining(uat)).toEqual([d0!.id, d2!.id, d5!.id, failedNew.id, running.id].sort());
    expect(await remaining(dev)).toEqual([devOld.id]);

    for (const gone of [d8!, d12!, d30!]) {
      expect(await stored(gone.id)).toEqual([]);
      expect(await handle.db.select().from(backupFiles).where(eq(backupFiles.backupId, gone.id))).toEqual([]);
    }
    expect(await stored(d0!.id)).toHaveLength(2);
    expect(await stored(devOld.id)).toHaveLength(2);

    const audit = (await listAuditEvents(handle.db, { environmentId: uat.id })).filter((e) => e.action === "backup.delete");
    expect(audit).toHaveLength(4);
    expect(audit.find((e) => e.backupId === d30!.id)).toMatchObject({
      actor: "retention",
      actorType: "system",
      detail: expect.objectContaining({ reason: "retention", rule: "keep_count", keepCount: 3, keepDays: 10 }),
    });

    // A second pass finds nothing more to do.
    expect((await applyRetention({ db: handle.db, storage, now: NOW })).deleted).toEqual([]);
  });

  it("never deletes the newest completed backup, even when every backup is older than the days kept", async () => {
    await handle.db.update(environments).set({ retentionDays: 7 }).where(eq(environments.id, uat.id));
    const newest = await make(uat, 50);
    await make(uat, 60);
    await make(uat, 70);
    // A newer failed one does not count as the newest restore point.
    const failed = await make(uat, 1, "failed");
    await applyRetention({ db: handle.db, storage, now: NOW });
    expect(await remaining(uat)).toEqual([newest.id, failed.id].sort());
    expect(await stored(newest.id)).toHaveLength(2);
  });

  it("skips backups in use: read by a queued or running restore, named by an environment lock", async () => {
    await handle.db.update(environments).set({ retentionKeepCount: 1 }).where(eq(environments.id, uat.id));
    const newest = await make(uat, 0);
    const restoring = await make(uat, 3);
    const locked = await make(uat, 4);
    const restoredBefore = await make(uat, 5);
    const free = await make(uat, 6);
    await handle.db.insert(restores).values({ backupId: restoring.id, environmentId: dev.id, status: "running", createdBy: "alice@acme.test" });
    const [doneRestore] = await handle.db
      .insert(restores)
      .values({ backupId: restoredBefore.id, environmentId: dev.id, status: "completed", createdBy: "alice@acme.test" })
      .returning();
    await acquireEnvironmentLock(handle.db, {
      environmentId: dev.id,
      operation: "restore",
      holder: "job:00000000-0000-0000-0000-000000000001:alice@acme.test",
      backupId: locked.id,
      ttlMs: 60_000,
    });

    const summary = await applyRetention({ db: handle.db, storage, now: NOW });
    expect(summary.deleted.map((d) => d.backupId).sort()).toEqual([restoredBefore.id, free.id].sort());
    expect(summary.skipped).toEqual(
      expect.arrayContaining([
        { backupId: restoring.id, reason: expect.stringMatching(/^restore .* into acme-dev reads it \(running\)$/) },
        { backupId: locked.id, reason: expect.stringMatching(/^a restore holding an environment uses it/) },
      ]),
    );
    expect(await remaining(uat)).toEqual([newest.id, restoring.id, locked.id].sort());
    // The finished restore's history stays, without its backup.
    expect((await handle.db.select().from(restores).where(eq(restores.id, doneRestore!.id)))[0]?.backupId).toBeNull();
  });

  it("two instances applying retention at once delete each expired backup exactly once, without failing", async () => {
    await handle.db.update(environments).set({ retentionKeepCount: 2 }).where(eq(environments.id, uat.id));
    const made: Backup[] = [];
    for (let day = 0; day < 12; day++) made.push(await make(uat, day));
    // One file already gone from storage (an earlier, interrupted delete): not an error.
    await storage.deleteObject(`backups/${made[11]!.id}/database.gz`);

    const [a, b] = await Promise.all([applyRetention({ db: handle.db, storage, now: NOW }), applyRetention({ db: handle.db, storage, now: NOW })]);
    const deleted = [...a.deleted, ...b.deleted].map((d) => d.backupId).sort();
    expect(deleted).toEqual(
      made
        .slice(2)
        .map((m) => m.id)
        .sort(),
    );
    expect([...a.skipped, ...b.skipped].every((s) => s.reason === "missing")).toBe(true);
    expect(await remaining(uat)).toEqual([made[0]!.id, made[1]!.id].sort());
    const audit = (await listAuditEvents(handle.db, { environmentId: uat.id, limit: 100 })).filter((e) => e.action === "backup.delete");
    expect(audit).toHaveLength(10);
    for (const gone of made.slice(2)) expect(await stored(gone.id)).toEqual([]);
  });

  it("honours pins and the grandfather-father-son tiers: keeps one a day and one a month, and what is pinned", async () => {
    await handle.db.update(environments).set({ retentionKeepDaily: 3, retentionKeepMonthly: 2 }).where(eq(environments.id, uat.id));
    // Two backups a day for ten days (03:00 and 15:00 UTC), and one on each of the two months before.
    const made: Backup[] = [];
    for (let day = 0; day < 10; day++) for (const hour of [15, 3]) made.push(await make(uat, day + (12 - hour) / 24));
    const may = await make(uat, 45);
    const april = await make(uat, 75);
    const pinned = await make(uat, 6 + 9 / 24, "completed", true);

    const summary = await applyRetention({ db: handle.db, storage, now: NOW });
    // Kept: the 15:00 backup of each of the last three days (the newest of its day), the newest of November and of May; the pin.
    const keptIds = [made[0]!, made[2]!, made[4]!, may, pinned].map((b) => b.id).sort();
    expect(await remaining(uat)).toEqual(keptIds);
    expect(summary.deleted.map((d) => d.backupId)).not.toContain(pinned.id);
    expect(summary.deleted).toHaveLength(made.length + 2 - 4);
    expect(summary.deleted.find((d) => d.backupId === april.id)).toMatchObject({ rule: "keep_rules" });
    const audit = (await listAuditEvents(handle.db, { environmentId: uat.id, limit: 100 })).find((e) => e.backupId === april.id);
    expect(audit?.detail).toMatchObject({ reason: "retention", rule: "keep_rules", keepDaily: 3, keepMonthly: 2, keepCount: null });
  });

  it("a backup pinned after the sweep judged it is still not deleted: the pin is read under the row lock", async () => {
    await handle.db.update(environments).set({ retentionKeepLast: 1 }).where(eq(environments.id, uat.id));
    await make(uat, 0);
    const old = await make(uat, 3);
    const candidates = await handle.db.select().from(backups).where(eq(backups.environmentId, uat.id));
    console.log(
      candidates.map((c) => [c.id, c.status, c.createdAt, c.pinned]),
      policyOf({ ...uat, retentionKeepLast: 1 }),
    );
    expect(expiredBackups(candidates, { keepCount: null, keepDays: null, keepLast: 1 }, NOW).map((e) => e.id)).toEqual([old.id]);
    await handle.db.update(backups).set({ pinned: true }).where(eq(backups.id, old.id));
    const { removeBackup } = await import("@/lib/backups/delete");
    const result = await removeBackup(
      { db: handle.db, storage },
      { backupId: old.id, actor: { email: "retention", type: "system" }, keepNewestCompleted: true },
    );
    expect(result).toEqual({ outcome: "pinned" });
    expect(await stored(old.id)).toHaveLength(2);
  });

  it("names periods as the database does: to_char in UTC, ISO weeks included", async () => {
    // A century at odd steps, and every turn of the year from 2020 to 2031, where ISO weeks and calendar years part.
    const moments = [
      ...Array.from({ length: 400 }, (_, i) => new Date(Date.UTC(1999, 11, 20) + i * 7_919_993_317)),
      ...Array.from({ length: 12 }, (_, y) =>
        Array.from({ length: 12 }, (_, d) => [0, DAY - 1].map((ms) => new Date(Date.UTC(2020 + y, 11, 26 + d) + ms))),
      ).flat(2),
    ];
    const result: unknown = await handle.db.execute(sql`
      select to_char(t at time zone 'UTC', 'YYYY-MM-DD HH24:00') as hourly, to_char(t at time zone 'UTC', 'YYYY-MM-DD') as daily,
             to_char(t at time zone 'UTC', 'IYYY-"W"IW') as weekly, to_char(t at time zone 'UTC', 'YYYY-MM') as monthly,
             to_char(t at time zone 'UTC', 'YYYY') as yearly
      from unnest(${`{${moments.map((m) => m.toISOString()).join(",")}}`}::timestamptz[]) with ordinality as m(t, n) order by n`);
    // postgres-js answers an array of rows, PGlite an object holding them.
    const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as Record<(typeof GFS_TIERS)[number], string>[];
    const ours = moments.map((m) => Object.fromEntries(GFS_TIERS.map((tier) => [tier, periodOf(tier, m)])));
    expect(ours).toEqual(rows.map((r) => ({ ...r })));
  });

  it("the list's reasons, page by page and filtered, are the sweep's judgement of the whole environment; the preview deletes what the sweep then does", async () => {
    await handle.db
      .update(environments)
      .set({ retentionKeepCount: 4, retentionDays: 20, retentionKeepWeekly: 3, retentionKeepYearly: 1 })
      .where(eq(environments.id, uat.id));
    for (let i = 0; i < 23; i++) await make(uat, i * 1.7 + (i % 3) / 10, i % 5 === 4 ? "failed" : "completed", i === 15);
    const all = await handle.db.select().from(backups).where(eq(backups.environmentId, uat.id));
    // With tiers (every backup above the page is read) and without (only the newest keep count / keep last are).
    for (const rules of [{}, { retentionKeepWeekly: null, retentionKeepYearly: null, retentionKeepLast: 6 }]) {
      if (Object.keys(rules).length > 0) await handle.db.update(environments).set(rules).where(eq(environments.id, uat.id));
      const judged = (await handle.db.select().from(environments).where(eq(environments.id, uat.id)))[0]!;
      const verdicts = judgeBackups(all, policyOf(judged), NOW);
      for (const filters of [{}, { status: "completed" as const }, { status: "failed" as const }]) {
        let cursor: Parameters<typeof listBackups>[1]["cursor"];
        let pages = 0;
        do {
          const page = await listBackups(handle.db, { environmentId: uat.id, limit: 3, cursor, ...filters });
          const onPage = await retentionOfPage(handle.db, judged, page.items, NOW);
          for (const item of page.items) expect(onPage.get(item.id), `${item.id} (${JSON.stringify({ rules, filters })})`).toEqual(verdicts.get(item.id));
          cursor = page.nextCursor ?? undefined;
          pages++;
        } while (cursor);
        expect(pages).toBeGreaterThan(1);
      }
    }
    await handle.db.update(environments).set({ retentionKeepWeekly: 3, retentionKeepYearly: 1, retentionKeepLast: null }).where(eq(environments.id, uat.id));
    const environment = (await handle.db.select().from(environments).where(eq(environments.id, uat.id)))[0]!;
    const whole = judgeBackups(all, policyOf(environment), NOW);

    const preview = await previewRetention(handle.db, { environment, proposed: {}, now: NOW });
    const expected = all.filter((b) => whole.get(b.id)!.expires).map((b) => b.id);
    expect(preview.deletes.map((d) => d.id).sort()).toEqual(expected.sort());
    expect(preview.delete_count).toBe(expected.length);
    expect(preview.delete_count).toBeGreaterThan(3);
    // The pinned one is judged kept, and the preview's order is oldest first.
    expect(preview.deletes.map((d) => d.id)).not.toContain(all.find((b) => b.pinned)!.id);
    const times = preview.deletes.map((d) => d.created_at);
    expect(times).toEqual(times.toSorted());

    // A proposal overrides the stored fields it names: no rule at all keeps everything.
    const off = await previewRetention(handle.db, {
      environment,
      proposed: { retentionKeepCount: null, retentionDays: null, retentionKeepWeekly: null, retentionKeepYearly: null },
      now: NOW,
    });
    expect(off).toMatchObject({ delete_count: 0, keep_count: all.length });

    const summary = await applyRetention({ db: handle.db, storage, now: NOW });
    expect(summary.deleted.map((d) => d.backupId).sort()).toEqual(expected.sort());
  });
});
