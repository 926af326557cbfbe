import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { insertTestBackup } from "@/lib/backups/retention/testing";
import type { DbHandle } from "@/lib/db/client";
import { listAuditEvents } from "@/lib/db/queries/audit";
import { backups, environments } from "@/lib/db/schema";
import type { Environment } from "@/lib/db/schema";
import { DEMO_GROUPS, seedDemoProject } from "@/lib/db/seed";
import { createTestDatabase } from "@/lib/db/testing";
import { routeCaller } from "@/lib/http/testing";
import { createStorage } from "@/lib/storage";
import type { Storage } from "@/lib/storage/types";

/*
 * Pins where people meet them: the pin routes, the delete that refuses a
 * pinned backup, the list that says why each backup is kept, the Settings
 * preview, and the settings save that applies new rules at once — as Next
 * calls the handlers, with real sessions.
 */
const request = routeCaller();

const { PUT, DELETE: UNPIN } = await import("./route");
const { DELETE } = await import("../route");
const { GET: LIST } = await import("@/app/api/v1/projects/[projectId]/environments/[environment]/backups/route");
const { POST: PREVIEW } = await import("@/app/api/v1/projects/[projectId]/environments/[environment]/retention/preview/route");
const { PUT: SAVE } = await import("@/app/api/v1/projects/[projectId]/environments/[environment]/route");
const { GET: HISTORY } = await import("@/app/api/v1/projects/[projectId]/environments/[environment]/backup-history/route");

const DB_KEY = Symbol.for("lifeboat.db");
const STORAGE_KEY = Symbol.for("lifeboat.storage");
const ADA = { id: "ada", email: "admin@acme.test", name: "Ada Admin", groups: [DEMO_GROUPS.admins] };
const MIA = { id: "mia", email: "mia@acme.test", name: "Mia Member", groups: [DEMO_GROUPS.members] };
const UAT = { projectId: "acme", environment: "uat" };

const backupContext = (backupId: string) => ({ params: Promise.resolve({ backupId }) });
const envContext = { params: Promise.resolve(UAT) };
const json = (body: unknown): RequestInit => ({ headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

const pin = (backupId: string) => PUT(request.request(`http://localhost/api/v1/backups/${backupId}/pin`, { method: "PUT" }), backupContext(backupId));
const unpin = (backupId: string) => UNPIN(request.request(`http://localhost/api/v1/backups/${backupId}/pin`, { method: "DELETE" }), backupContext(backupId));
const remove = (backupId: string) => DELETE(request.request(`http://localhost/api/v1/backups/${backupId}`, { method: "DELETE" }), backupContext(backupId));

interface Listed {
  id: string;
  pinned: boolean;
  pinned_by: string | null;
  retention: { kept_by: { rule: string; label: string }[]; expires: string | null };
}
async function list(): Promise<Listed[]> {
  const response = await LIST(request.request("http://localhost/api/v1/projects/acme/environments/uat/backups?per_page=100"), envContext);
  expect(response.status).toBe(200);
  return ((await response.json()) as { response: Listed[] }).response;
}

describe("pinning, and retention as people see it", () => {
  let handle: DbHandle;
  let storage: Storage;
  let root: string;
  let uat: Environment;
  const now = new Date();
  const make = (daysAgo: number, status?: "completed" | "failed") => insertTestBackup({ db: handle.db, storage }, { environment: uat, now, daysAgo, status });

  beforeAll(async () => {
    handle = await createTestDatabase("pglite");
    await seedDemoProject(handle.db);
    root = await mkdtemp(path.join(tmpdir(), "lifeboat-pin-route-"));
    storage = createStorage({ driver: "local", root });
    (globalThis as Record<symbol, unknown>)[DB_KEY] = handle;
    (globalThis as Record<symbol, unknown>)[STORAGE_KEY] = storage;
    uat = (await handle.db.select().from(environments).where(eq(environments.name, "uat")))[0]!;
  });
  afterAll(async () => {
    delete (globalThis as Record<symbol, unknown>)[DB_KEY];
    delete (globalThis as Record<symbol, unknown>)[STORAGE_KEY];
    await handle?.close();
    await rm(root, { recursive: true, force: true });
  });
  beforeEach(async () => {
    request.signOut();
    await handle.db.execute(sql`delete from backups`);
    await handle.db
      .update(environments)
      .set({ retentionKeepCount: null, retentionDays: null, retentionKeepLast: null, retentionKeepDaily: null, retentionKeepMonthly: null })
      .where(eq(environments.id, uat.id));
  });

  it("an administrator pins and unpins, audited both ways; a pinned backup cannot be deleted by hand; members may not pin", async () => {
    const older = await make(3);
    await make(1);

    await request.signIn(MIA);
    const forbidden = await pin(older.id);
    expect(forbidden.status).toBe(403);
    expect(((await forbidden.json()) as { error: { message: string } }).error.message).toBe("Only administrators of acme-uat may pin or unpin its backups.");

    await request.signIn(ADA);
    const pinned = await pin(older.id);
    expect(pinned.status).toBe(200);
    expect(((await pinned.json()) as { response: Listed }).response).toMatchObject({ id: older.id, pinned: true, pinned_by: ADA.email });
    // Again: nothing changes, and no second audit row.
    expect((await pin(older.id)).status).toBe(200);

    const refused = await remove(older.id);
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toBe(
      `Backup ${older.id} cannot be deleted now: it is pinned; unpin it first.`,
    );

    const unpinned = await unpin(older.id);
    expect(((await unpinned.json()) as { response: Listed }).response).toMatchObject({ pinned: false, pinned_by: null });
    expect((await remove(older.id)).status).toBe(204);

    const audit = (await listAuditEvents(handle.db, { environmentId: uat.id })).filter((e) => e.backupId === older.id).map((e) => `${e.action} by ${e.actor}`);
    expect(audit.toReversed()).toEqual(["backup.pin by admin@acme.test", "backup.unpin by admin@acme.test", "backup.delete by admin@acme.test"]);
  });

  it("only a completed backup can be pinned", async () => {
    const failed = await make(1, "failed");
    await request.signIn(ADA);
    const response = await pin(failed.id);
    expect(response.status).toBe(409);
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/only a completed backup can be pinned/);
  });

  it("the list says why each backup is kept; the preview names what new rules would delete; saving them deletes exactly that, never the pin", async () => {
    const [today, yesterday, lastWeek, lastMonth] = [await make(0.01), await make(1), await make(7), await make(31)];
    await request.signIn(ADA);
    expect((await pin(lastWeek.id)).status).toBe(200);

    // No rules: everything is kept, and says so.
    expect(Object.fromEntries((await list()).map((b) => [b.id, b.retention.kept_by.map((r) => r.label)]))).toEqual({
      [today.id]: ["newest"],
      [yesterday.id]: ["no retention rules"],
      [lastWeek.id]: ["pinned"],
      [lastMonth.id]: ["no retention rules"],
    });

    const preview = await PREVIEW(
      request.request("http://localhost/api/v1/projects/acme/environments/uat/retention/preview", { method: "POST", ...json({ retentionKeepLast: 1 }) }),
      envContext,
    );
    expect(preview.status).toBe(200);
    const { response: proposal } = (await preview.json()) as { response: { delete_count: number; deletes: { id: string; rule: string }[] } };
    expect(proposal.deletes).toEqual([
      expect.objectContaining({ id: lastMonth.id, rule: "keep_rules" }),
      expect.objectContaining({ id: yesterday.id, rule: "keep_rules" }),
    ]);
    // The preview changed nothing.
    expect((await list()).map((b) => b.id)).toHaveLength(4);

    const saved = await SAVE(
      request.request("http://localhost/api/v1/projects/acme/environments/uat", { method: "PUT", ...json({ retentionKeepLast: 1, retentionKeepDaily: null }) }),
      envContext,
    );
    expect(saved.status).toBe(200);
    const body = (await saved.json()) as { response: { retentionKeepLast: number }; retention: { deleted: string[] } };
    expect(body.response.retentionKeepLast).toBe(1);
    expect(body.retention.deleted.toSorted()).toEqual(proposal.deletes.map((d) => d.id).toSorted());
    expect((await list()).map((b) => [b.id, b.retention.kept_by.map((r) => r.label).join(" · ")])).toEqual([
      [today.id, "newest · last 1"],
      [lastWeek.id, "pinned"],
    ]);

    // Saving again without a change to the rules applies nothing.
    const again = await SAVE(
      request.request("http://localhost/api/v1/projects/acme/environments/uat", { method: "PUT", ...json({ scheduleCron: "0 3 * * *" }) }),
      envContext,
    );
    expect(((await again.json()) as { retention: unknown }).retention).toBeNull();
  });

  it("members may not preview; a keep number below 1 is refused", async () => {
    await request.signIn(MIA);
    const call = (body: unknown) =>
      PREVIEW(request.request("http://localhost/api/v1/projects/acme/environments/uat/retention/preview", { method: "POST", ...json(body) }), envContext);
    expect((await call({})).status).toBe(403);
    await request.signIn(ADA);
    const bad = await call({ retentionKeepDaily: 0 });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/^retentionKeepDaily: /);
    expect((await call({ retentionKeepHourly: 5, unknown: 1 })).status).toBe(400);
  });

  it("the history lists the period's backups oldest first, with duration and both sizes", async () => {
    const completed = await make(2);
    const failed = await make(1, "failed");
    await make(40);
    await handle.db
      .update(backups)
      .set({ startedAt: new Date(completed.createdAt.getTime() + 1_000), completedAt: new Date(completed.createdAt.getTime() + 91_000) })
      .where(eq(backups.id, completed.id));
    await request.signIn(MIA);
    const response = await HISTORY(request.request("http://localhost/api/v1/projects/acme/environments/uat/backup-history?days=30"), envContext);
    const { response: history } = (await response.json()) as { response: { points: Record<string, unknown>[]; days: number; truncated: boolean } };
    const size = `database of ${completed.id}`.length;
    expect(history).toMatchObject({ days: 30, truncated: false });
    expect(history.points).toEqual([
      {
        id: completed.id,
        status: "completed",
        origin: "scheduled",
        created_at: completed.createdAt.toISOString(),
        duration_seconds: 90,
        database_bytes: size,
        volume_bytes: size - 2,
      },
      {
        id: failed.id,
        status: "failed",
        origin: "scheduled",
        created_at: failed.createdAt.toISOString(),
        duration_seconds: 0,
        database_bytes: null,
        volume_bytes: null,
      },
    ]);
    expect((await HISTORY(request.request("http://localhost/api/v1/projects/acme/environments/uat/backup-history?days=400"), envContext)).status).toBe(400);
  });
});
