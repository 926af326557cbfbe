import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { routeCaller } from "@/lib/http/testing";

import { insertTestBackup } from "@/lib/backups/retention/testing";
import type { DbHandle } from "@/lib/db/client";
import { listAuditEvents } from "@/lib/db/queries/audit";
import { backups, environments, restores } from "@/lib/db/schema";
import type { Environment } from "@/lib/db/schema";
import { DEMO_GROUPS, seedDemoProject } from "@/lib/db/seed";
import { createTestDatabase } from "@/lib/db/testing";
import { createStorage } from "@/lib/storage";
import type { Storage } from "@/lib/storage/types";

/*
 * DELETE /api/v1/backups/{backupId} as Next calls it, with the next-auth
 * session replaced by what each test sends (as app/api/v1/tokens/routes.test.ts).
 */
const request = routeCaller();

const { DELETE } = await import("./route");

const DB_KEY = Symbol.for("lifeboat.db");
const STORAGE_KEY = Symbol.for("lifeboat.storage");
const ADA = { id: "ada", email: "admin@acme.test", name: "Ada Admin", groups: [DEMO_GROUPS.admins] };
const MIA = { id: "mia", email: "mia@acme.test", name: "Mia Member", groups: [DEMO_GROUPS.members] };

function del(backupId: string) {
  return DELETE(request.request(`http://localhost/api/v1/backups/${backupId}`, { method: "DELETE", headers: { "user-agent": "curl/8" } }), {
    params: Promise.resolve({ backupId }),
  });
}

describe("DELETE /api/v1/backups/{backupId}", () => {
  let handle: DbHandle;
  let storage: Storage;
  let root: string;
  let uat: Environment;

  beforeAll(async () => {
    handle = await createTestDatabase("pglite");
    await seedDemoProject(handle.db);
    root = await mkdtemp(path.join(tmpdir(), "lifeboat-delete-route-"));
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
  beforeEach(() => {
    request.signOut();
  });

  it("204 for an administrator, and the backup is gone; 401, 403, 404, 409 and 400 otherwise", async () => {
    const backup = await insertTestBackup({ db: handle.db, storage }, { environment: uat, now: new Date(), daysAgo: 1 });
    const busy = await insertTestBackup({ db: handle.db, storage }, { environment: uat, now: new Date(), daysAgo: 2 });
    await handle.db.insert(restores).values({ backupId: busy.id, environmentId: uat.id, status: "running", createdBy: ADA.email });

    expect((await del(backup.id)).status).toBe(401);
    await request.signIn(MIA);
    const forbidden = await del(backup.id);
    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toEqual({ error: { code: "forbidden", message: "Only administrators of acme-uat may delete its backups." } });

    await request.signIn(ADA);
    const conflict = await del(busy.id);
    expect(conflict.status).toBe(409);
    expect(((await conflict.json()) as { error: { message: string } }).error.message).toMatch(/reads it \(running\)/);
    expect((await del("not-a-backup-id")).status).toBe(400);

    const ok = await del(backup.id);
    expect(ok.status).toBe(204);
    expect(await ok.text()).toBe("");
    expect(await handle.db.select().from(backups).where(eq(backups.id, backup.id))).toEqual([]);
    expect((await listAuditEvents(handle.db, { environmentId: uat.id }))[0]).toMatchObject({
      action: "backup.delete",
      actor: ADA.email,
      actorType: "user",
      userAgent: "curl/8",
    });
    expect((await del(backup.id)).status).toBe(404);
  });
});
