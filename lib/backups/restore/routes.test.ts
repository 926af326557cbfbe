import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { routeCaller } from "@/lib/http/testing";

import type { DbHandle } from "@/lib/db/client";
import { backupFiles, backups, environments, jobs } from "@/lib/db/schema";
import { DEMO_GROUPS, seedDemoProject } from "@/lib/db/seed";
import { createTestDatabase } from "@/lib/db/testing";

import type { RestoreJson } from "./serialize";

/*
 * The restore routes as Next calls them, with the session replaced by what
 * each test sends (as app/api/v1/tokens/routes.test.ts does). No job runs
 * here: these check the HTTP answers; restore.test.ts runs the restores.
 */
const request = routeCaller();

const { POST: restoreBackup } = await import("@/app/api/v1/backups/[backupId]/restore/route");
const { GET: getRestoreRoute } = await import("@/app/api/v1/restores/[restoreId]/route");
const { GET: listRestoresRoute } = await import("@/app/api/v1/projects/[projectId]/environments/[environment]/restores/route");

const DB_KEY = Symbol.for("lifeboat.db");
const ADA = { id: "ada", email: "ada@acme.test", name: "Ada Admin", groups: [DEMO_GROUPS.admins] };
const MIA = { id: "mia", email: "mia@acme.test", name: "Mia Member", groups: [DEMO_GROUPS.members] };
const NOBODY = { id: "nobody", email: "nobody@acme.test", name: "No Roles", groups: [] };
const BACKUP_ID = "acme-routebackupxx-202401010000";

function post(backupId: string, body?: unknown): [Request, { params: Promise<{ backupId: string }> }] {
  return [
    request.request(`http://localhost/api/v1/backups/${backupId}/restore`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    }),
    { params: Promise.resolve({ backupId }) },
  ];
}

async function errorOf(response: Response): Promise<{ code: string; message: string }> {
  return ((await response.json()) as { error: { code: string; message: string } }).error;
}

describe("restore routes", () => {
  let handle: DbHandle;

  beforeAll(async () => {
    handle = await createTestDatabase("pglite");
    await seedDemoProject(handle.db);
    (globalThis as Record<symbol, unknown>)[DB_KEY] = handle;
    const target = {
      dbEngine: "postgresql" as const,
      dbHost: "127.0.0.1",
      dbName: "lportal",
      dbUser: "liferay",
      volumePath: "/srv/liferay/data/document_library",
    };
    await handle.db.update(environments).set(target).where(eq(environments.projectId, "acme"));
    const [dev] = await handle.db.select().from(environments).where(eq(environments.name, "dev"));
    await handle.db
      .insert(backups)
      .values({ id: BACKUP_ID, environmentId: dev!.id, origin: "manual", status: "completed", dbEngine: "postgresql", createdBy: ADA.email });
    await handle.db.insert(backupFiles).values([
      {
        backupId: BACKUP_ID,
        kind: "database",
        fileName: "database.gz",
        sizeBytes: 100,
        sha256: "a".repeat(64),
        storageKey: `backups/${BACKUP_ID}/database.gz`,
      },
      { backupId: BACKUP_ID, kind: "volume", fileName: "volume.tgz", sizeBytes: 50, sha256: "b".repeat(64), storageKey: `backups/${BACKUP_ID}/volume.tgz` },
    ]);
  });
  afterAll(async () => {
    delete (globalThis as Record<symbol, unknown>)[DB_KEY];
    await handle?.close();
  });
  beforeEach(async () => {
    request.signOut();
    await handle.db.execute("delete from environment_locks");
    // eslint-disable-next-line drizzle/enforce-delete-with-where -- each test starts from an empty job queue in its scratch database
    await handle.db.delete(jobs);
  });

  it("queues a restore: 202 with Location, then GET by id and the environment's list show it", async () => {
    await request.signIn(ADA);
    const response = await restoreBackup(...post(BACKUP_ID, { environment: "uat" }));
    expect(response.status).toBe(202);
    const { response: restore } = (await response.json()) as { response: RestoreJson };
    expect(response.headers.get("location")).toBe(`/api/v1/restores/${restore.id}`);
    expect(restore).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      backup_id: BACKUP_ID,
      project: "acme",
      environment: "uat",
      status: "queued",
      status_reason: null,
      stage: null,
      progress: { bytes: 0, total_bytes: 150 },
      created_by: ADA.email,
      created_at: expect.any(String),
      started_at: null,
      completed_at: null,
    });

    const one = await getRestoreRoute(request.request("http://localhost"), { params: Promise.resolve({ restoreId: restore.id }) });
    expect(one.status).toBe(200);
    expect(((await one.json()) as { response: RestoreJson }).response).toEqual(restore);

    const list = await listRestoresRoute(request.request("http://localhost/x?limit=5"), { params: Promise.resolve({ projectId: "acme", environment: "uat" }) });
    expect(list.status).toBe(200);
    expect(((await list.json()) as { response: RestoreJson[] }).response.map((r) => r.id)).toEqual([restore.id]);
    const devList = await listRestoresRoute(request.request("http://localhost/x"), { params: Promise.resolve({ projectId: "acme", environment: "dev" }) });
    expect(((await devList.json()) as { response: RestoreJson[] }).response).toEqual([]);
    expect(
      (await listRestoresRoute(request.request("http://localhost/x?limit=0"), { params: Promise.resolve({ projectId: "acme", environment: "uat" }) })).status,
    ).toBe(400);

    // The target is locked now: a second restore into it is refused.
    const busy = await restoreBackup(...post(BACKUP_ID, { environment: "uat" }));
    expect(busy.status).toBe(409);
    expect((await errorOf(busy)).message).toMatch(/^acme-uat is busy: a restore of acme-routebackupxx-202401010000 started by ada@acme\.test/);

    // Invisible to someone without a role there.
    await request.signIn(NOBODY);
    expect((await getRestoreRoute(request.request("http://localhost"), { params: Promise.resolve({ restoreId: restore.id }) })).status).toBe(404);
    expect(
      (await listRestoresRoute(request.request("http://localhost/x"), { params: Promise.resolve({ projectId: "acme", environment: "uat" }) })).status,
    ).toBe(404);
  });

  it("answers 401, 400, 403, 404 and 422 with readable messages", async () => {
    expect((await restoreBackup(...post(BACKUP_ID, {}))).status).toBe(401);

    await request.signIn(ADA);
    expect((await restoreBackup(...post(BACKUP_ID, "{not json"))).status).toBe(400);
    expect((await restoreBackup(...post(BACKUP_ID, { environment: "uat", extra: 1 }))).status).toBe(400);
    expect((await restoreBackup(...post("not-a-backup-id", {}))).status).toBe(400);
    expect((await restoreBackup(...post("acme-nosuchbackupx-202401010000", {}))).status).toBe(404);
    expect((await restoreBackup(...post(BACKUP_ID, { environment: "nope" }))).status).toBe(404);
    expect((await getRestoreRoute(request.request("http://localhost"), { params: Promise.resolve({ restoreId: "not-a-uuid" }) })).status).toBe(404);

    const prd = await restoreBackup(...post(BACKUP_ID, { environment: "prd" }));
    expect(prd.status).toBe(422);
    expect(await errorOf(prd)).toMatchObject({ code: "unprocessable", message: expect.stringContaining('send "confirm": "prd"') });

    await request.signIn(MIA);
    const member = await restoreBackup(...post(BACKUP_ID, {}));
    expect(member.status).toBe(403);
    expect((await errorOf(member)).message).toBe("Only administrators of acme-dev may restore backups into it.");

    await request.signIn(NOBODY);
    expect((await restoreBackup(...post(BACKUP_ID, {}))).status).toBe(404);
  });

  it("restores into the backup's own environment when the body is empty", async () => {
    await request.signIn(ADA);
    const response = await restoreBackup(...post(BACKUP_ID));
    expect(response.status).toBe(202);
    expect(((await response.json()) as { response: RestoreJson }).response.environment).toBe("dev");
  });
});
