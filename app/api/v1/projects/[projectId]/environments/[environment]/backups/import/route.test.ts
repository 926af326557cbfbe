import { sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { routeCaller } from "@/lib/http/testing";

import type { DbHandle } from "@/lib/db/client";
import { jobs } from "@/lib/db/schema";
import { DEMO_GROUPS, seedDemoProject } from "@/lib/db/seed";
import { createTestDatabase } from "@/lib/db/testing";

/*
 * POST …/backups/import as Next calls it, with the next-auth session
 * replaced by each test's: the 202 envelope, and the 400/403/404/409 paths.
 * Fetching and verifying are lib/backups/import/import.test.ts's business.
 */
const request = routeCaller();

const { POST } = await import("./route");

const DB_KEY = Symbol.for("lifeboat.db");
const ADMIN = { id: "ada", email: "ada@acme.test", name: "Ada", groups: [DEMO_GROUPS.admins] };
const MEMBER = { id: "mia", email: "mia@acme.test", name: "Mia", groups: [DEMO_GROUPS.members] };

function post(environment: string, body: unknown): Promise<Response> {
  const req = request.request(`http://localhost/api/v1/projects/acme/environments/${environment}/backups/import`, {
    method: "POST",
    headers: { "content-type": "application/json", "user-agent": "route-test" },
    body: JSON.stringify(body),
  });
  return POST(req, { params: Promise.resolve({ projectId: "acme", environment }) });
}

const BODY = {
  remote_url: "https://files.example.com/old/database.gz?X-Amz-Signature=abc",
  volume_url: "https://files.example.com/old/volume.tgz",
  name: "old host",
};

describe("POST /api/v1/projects/{p}/environments/{e}/backups/import", () => {
  let handle: DbHandle;

  beforeAll(async () => {
    process.env.NEXTAUTH_SECRET = "route-tests-secret-that-is-long-enough-0123456789";
    handle = await createTestDatabase("pglite");
    await seedDemoProject(handle.db);
    (globalThis as Record<symbol, unknown>)[DB_KEY] = handle;
  });
  afterAll(async () => {
    delete (globalThis as Record<symbol, unknown>)[DB_KEY];
    await handle?.close();
  });
  beforeEach(async () => {
    request.signOut();
    await handle.db.execute(sql`delete from environment_locks`);
    await handle.db.delete(jobs).where(sql`true`);
  });

  it("answers 202 with the queued backup, origin imported, and queues a backup.import job", async () => {
    await request.signIn(ADMIN);
    const response = await post("uat", BODY);
    expect(response.status).toBe(202);
    const { response: backup } = (await response.json()) as { response: Record<string, unknown> };
    expect(backup).toMatchObject({
      project: "acme",
      environment: "uat",
      status: "queued",
      origin: "imported",
      name: "old host",
      created_by: ADMIN.email,
      files: [],
    });
    expect(response.headers.get("location")).toBe(`/api/v1/backups/${backup.id as string}`);
    const queued = await handle.db.select().from(jobs);
    expect(queued).toHaveLength(1);
    expect(queued[0]).toMatchObject({
      queue: "backup.import",
      payload: expect.objectContaining({ backupId: backup.id, remoteUrl: "https://files.example.com/old/database.gz?…" }),
    });
    // The signature is a credential: the payload keeps it only encrypted.
    expect(JSON.stringify(queued[0]!.payload)).not.toContain("X-Amz-Signature=abc");
  });

  it("refuses a second import while the first holds the environment (409), and members (403)", async () => {
    await request.signIn(ADMIN);
    expect((await post("uat", BODY)).status).toBe(202);
    const busy = await post("uat", BODY);
    expect(busy.status).toBe(409);
    expect(((await busy.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: "conflict",
      message: expect.stringMatching(/^acme-uat is busy/),
    });

    await request.signIn(MEMBER);
    const forbidden = await post("dev", BODY);
    expect(forbidden.status).toBe(403);
    expect(((await forbidden.json()) as { error: { code: string } }).error.code).toBe("forbidden");
  });

  it("answers 400 for a missing or non-http URL or an unknown field, 401 without a session, 404 for an unknown environment", async () => {
    expect((await post("uat", BODY)).status).toBe(401);
    await request.signIn(ADMIN);
    const ftp = await post("uat", { ...BODY, volume_url: "ftp://files.example.com/volume.tgz" });
    expect(ftp.status).toBe(400);
    expect(((await ftp.json()) as { error: { message: string } }).error.message).toMatch(/^volume_url: must be an http:\/\/ or https:\/\/ URL/);
    expect((await post("uat", { remote_url: BODY.remote_url })).status).toBe(400);
    expect((await post("uat", { ...BODY, group: 5 })).status).toBe(400);
    expect((await post("nowhere", BODY)).status).toBe(404);
    expect(await handle.db.select().from(jobs)).toHaveLength(0);
  });
});
