import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import type { Actor } from "@/lib/auth/permissions";
import type { DbHandle } from "@/lib/db/client";
import { listAuditEvents } from "@/lib/db/queries/audit";
import { acquireEnvironmentLock } from "@/lib/db/queries/locks";
import { backupFiles, backups, environments, restores } from "@/lib/db/schema";
import type { Environment } from "@/lib/db/schema";
import { DEMO_GROUPS, seedDemoProject } from "@/lib/db/seed";
import { createTestDatabase, DATABASE_KINDS } from "@/lib/db/testing";
import { isAppError } from "@/lib/errors";
import { createStorage } from "@/lib/storage";
import type { Storage } from "@/lib/storage/types";

import { deleteBackup, removeBackup } from "./delete";
import { insertTestBackup } from "./retention/testing";
import { actorFor } from "./testing";

const NOW = new Date();

describe.each(DATABASE_KINDS)("deleting a backup on %s", (kind) => {
  let handle: DbHandle;
  let storage: Storage;
  let root: string;
  let prd: Environment;
  let uat: Environment;
  let admin: Actor;
  let member: Actor;
  let nonprodAdmin: Actor;

  const stored = async (backupId: string) => {
    const keys: string[] = [];
    for await (const object of storage.list(`backups/${backupId}/`)) keys.push(object.key);
    return keys;
  };
  const outcome = (promise: Promise<unknown>) =>
    promise.then(
      () => "ok",
      (error: unknown) => (isAppError(error) ? `${error.status} ${error.message}` : String(error)),
    );
  const make = (environment: Environment, daysAgo = 1, status?: "completed" | "failed" | "queued" | "running") =>
    insertTestBackup({ db: handle.db, storage }, { environment, now: NOW, daysAgo, status });

  beforeAll(async () => {
    handle = await createTestDatabase(kind);
    await seedDemoProject(handle.db);
    root = await mkdtemp(path.join(tmpdir(), "lifeboat-delete-"));
    storage = createStorage({ driver: "local", root });
    const byName = async (name: string) => (await handle.db.select().from(environments).where(eq(environments.name, name)))[0]!;
    prd = await byName("prd");
    uat = await byName("uat");
    admin = await actorFor(handle.db, "alice@acme.test", [DEMO_GROUPS.admins]);
    member = await actorFor(handle.db, "mia@acme.test", [DEMO_GROUPS.members]);
    nonprodAdmin = await actorFor(handle.db, "nora@acme.test", [DEMO_GROUPS.nonprodAdmins], "token");
  });

  afterAll(async () => {
    await handle?.close();
    await rm(root, { recursive: true, force: true });
  });

  beforeEach(async () => {
    await handle.db.execute(sql`delete from environment_locks`);
    await handle.db.execute(sql`delete from restores`);
    await handle.db.execute(sql`delete from audit_events`);
  });

  it("an administrator deletes a backup: its files, its rows, and an audit event naming them", async () => {
    const backup = await make(uat);
    const older = await make(uat, 2);
    expect(await stored(backup.id)).toHaveLength(2);
    await deleteBackup({ db: handle.db, storage, actor: nonprodAdmin, backupId: backup.id, requestInfo: { ip: "203.0.113.7", userAgent: "lcp/1.0" } });

    expect(await handle.db.select().from(backups).where(eq(backups.id, backup.id))).toEqual([]);
    expect(await handle.db.select().from(backupFiles).where(eq(backupFiles.backupId, backup.id))).toEqual([]);
    expect(await stored(backup.id)).toEqual([]);
    expect(await stored(older.id)).toHaveLength(2);
    const [event] = await listAuditEvents(handle.db, { environmentId: uat.id });
    expect(event).toMatchObject({
      action: "backup.delete",
      actor: "nora@acme.test",
      actorType: "token",
      backupId: backup.id,
      ip: "203.0.113.7",
      userAgent: "lcp/1.0",
      detail: expect.objectContaining({
        status: "completed",
        files: [expect.objectContaining({ kind: "database" }), expect.objectContaining({ kind: "volume" })],
      }),
    });

    // Gone is gone: a second delete is a 404.
    expect(await outcome(deleteBackup({ db: handle.db, storage, actor: admin, backupId: backup.id }))).toMatch(/^404 There is no backup/);
  });

  it("403 for a member, 404 for a backup the actor cannot see or that does not exist", async () => {
    const inPrd = await make(prd);
    expect(await outcome(deleteBackup({ db: handle.db, storage, actor: member, backupId: inPrd.id }))).toBe(
      "403 Only administrators of acme-prd may delete its backups.",
    );
    // Nora administers uat and dev, and is a member of prd: still 403 there.
    expect(await outcome(deleteBackup({ db: handle.db, storage, actor: nonprodAdmin, backupId: inPrd.id }))).toMatch(/^403 /);
    const stranger = await actorFor(handle.db, "sam@elsewhere.test", ["elsewhere"]);
    expect(await outcome(deleteBackup({ db: handle.db, storage, actor: stranger, backupId: inPrd.id }))).toMatch(/^404 /);
    const inUat = await make(uat);
    expect(await outcome(deleteBackup({ db: handle.db, storage, actor: admin, backupId: inUat.id, productionOnly: true }))).toMatch(/^404 /);
    expect(await outcome(deleteBackup({ db: handle.db, storage, actor: admin, backupId: "acme-nosuchbackupxx-202601010000" }))).toMatch(/^404 /);
    expect(await stored(inPrd.id)).toHaveLength(2);
    expect(await listAuditEvents(handle.db, { environmentId: prd.id })).toEqual([]);
  });

  it("409 naming why while the backup is in use: being made, read by a restore, named by a lock", async () => {
    const running = await make(uat, 0, "running");
    expect(await outcome(deleteBackup({ db: handle.db, storage, actor: admin, backupId: running.id }))).toBe(
      `409 Backup ${running.id} cannot be deleted now: it is still being made (running); wait until it has completed or failed.`,
    );

    const read = await make(uat, 3);
    const [restore] = await handle.db
      .insert(restores)
      .values({ backupId: read.id, environmentId: prd.id, status: "queued", createdBy: "alice@acme.test" })
      .returning();
    expect(await outcome(deleteBackup({ db: handle.db, storage, actor: admin, backupId: read.id }))).toBe(
      `409 Backup ${read.id} cannot be deleted now: restore ${restore!.id} into acme-prd reads it (queued).`,
    );
    expect(await stored(read.id)).toHaveLength(2);
    // Once that restore has finished, the backup may go; the restore's history stays.
    await handle.db.update(restores).set({ status: "completed" }).where(eq(restores.id, restore!.id));
    expect(await outcome(deleteBackup({ db: handle.db, storage, actor: admin, backupId: read.id }))).toBe("ok");
    expect((await handle.db.select().from(restores).where(eq(restores.id, restore!.id)))[0]).toMatchObject({ status: "completed", backupId: null });

    const locked = await make(uat, 4);
    await acquireEnvironmentLock(handle.db, {
      environmentId: prd.id,
      operation: "restore",
      holder: "job:00000000-0000-0000-0000-000000000002:alice@acme.test",
      backupId: locked.id,
      ttlMs: 60_000,
    });
    expect(await outcome(deleteBackup({ db: handle.db, storage, actor: admin, backupId: locked.id }))).toMatch(
      new RegExp(`^409 Backup ${locked.id} cannot be deleted now: a restore holding an environment uses it`),
    );
    // An expired lock names nothing any more.
    await handle.db.execute(sql`update environment_locks set expires_at = now() - interval '1 second'`);
    expect(await outcome(deleteBackup({ db: handle.db, storage, actor: admin, backupId: locked.id }))).toBe("ok");
  });

  it("two deletes of one backup at once: one deletes, the other finds it gone; one audit event", async () => {
    const backup = await make(uat, 5);
    const results = await Promise.all(
      [0, 1].map(() => removeBackup({ db: handle.db, storage }, { backupId: backup.id, actor: { email: "alice@acme.test", type: "user" } })),
    );
    expect(results.map((r) => r.outcome).sort()).toEqual(["deleted", "missing"]);
    expect((await listAuditEvents(handle.db, { environmentId: uat.id })).filter((e) => e.backupId === backup.id)).toHaveLength(1);
    expect(await stored(backup.id)).toEqual([]);
  });
});
