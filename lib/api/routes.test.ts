import { randomBytes } from "node:crypto";

import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";

import { routeCaller } from "@/lib/http/testing";

import type { DbHandle } from "@/lib/db/client";
import { auditEvents, backupFiles, backups, environments } from "@/lib/db/schema";
import type { Environment } from "@/lib/db/schema";
import { DEMO_GROUPS, seedDemoProject } from "@/lib/db/seed";
import { createTestDatabase } from "@/lib/db/testing";
import { verifySignedDownload } from "@/lib/downloads/signed-url";

/*
 * The routes this round adds or extends, called as Next calls them: the
 * list's Cloud 66 pagination and db_type filter, a backup's files, a file's
 * signed link, and the backup task.
 */
vi.hoisted(() => {
  process.env.NEXTAUTH_SECRET = "routes-test-secret-routes-test-secret";
  process.env.LIFEBOAT_URL = "https://lifeboat.example.com";
});
const request = routeCaller();

const listRoute = await import("@/app/api/v1/projects/[projectId]/environments/[environment]/backups/route");
const filesRoute = await import("@/app/api/v1/backups/[backupId]/files/route");
const urlRoute = await import("@/app/api/v1/backups/[backupId]/files/[kind]/url/route");
const taskRoute = await import("@/app/api/v1/projects/[projectId]/environments/[environment]/backup-task/route");

const DB_KEY = Symbol.for("lifeboat.db");
const ADA = { id: "ada", email: "admin@acme.test", name: "Ada Admin", groups: [DEMO_GROUPS.admins] };
const MAX = { id: "max", email: "member@acme.test", name: "Max Member", groups: [DEMO_GROUPS.members] };

type Json = Record<string, unknown> & { response: unknown; error?: { code: string; message: string } };

function envContext(environment: string) {
  return { params: Promise.resolve({ projectId: "acme", environment }) };
}

async function json(response: Response): Promise<Json> {
  return (await response.json()) as Json;
}

describe("list, files, signed links and backup task routes", () => {
  let handle: DbHandle;
  let uat: Environment;
  let prd: Environment;
  const ids: string[] = [];

  beforeAll(async () => {
    handle = await createTestDatabase("pglite");
    await seedDemoProject(handle.db);
    (globalThis as Record<symbol, unknown>)[DB_KEY] = handle;
    const envs = await handle.db.select().from(environments).where(eq(environments.projectId, "acme"));
    uat = envs.find((e) => e.name === "uat")!;
    prd = envs.find((e) => e.name === "prd")!;
    // 7 uat backups, one a minute, the odd ones from MySQL; one completed prd backup with both files.
    for (let i = 0; i < 7; i++) {
      const id = `acme-${"abcdefghij".slice(0, 10)}${String.fromCharCode(97 + i)}-20260301100${i}`;
      ids.push(id);
      await handle.db.insert(backups).values({
        id,
        environmentId: uat.id,
        origin: i === 0 ? "uploaded" : "manual",
        status: "completed",
        dbEngine: i % 2 === 0 ? "postgresql" : "mysql",
        createdBy: "test",
        createdAt: new Date(Date.UTC(2026, 2, 1, 10, i)),
        completedAt: new Date(Date.UTC(2026, 2, 1, 10, i)),
      });
    }
    await handle.db.insert(backups).values({
      id: "acme-prodfileslinks-202603011100",
      environmentId: prd.id,
      origin: "manual",
      status: "completed",
      createdBy: "test",
      completedAt: new Date(),
    });
    await handle.db.insert(backupFiles).values(
      (["database", "volume"] as const).map((kind) => ({
        backupId: "acme-prodfileslinks-202603011100",
        kind,
        fileName: kind === "database" ? "database.gz" : "volume.tgz",
        sizeBytes: 1234,
        sha256: randomBytes(32).toString("hex"),
        storageKey: `backups/acme-prodfileslinks-202603011100/${kind}`,
      })),
    );
  });
  afterAll(async () => {
    delete (globalThis as Record<symbol, unknown>)[DB_KEY];
    await handle?.close();
  });
  beforeEach(async () => {
    await request.signIn(ADA);
  });

  const list = (query: string) => listRoute.GET(request.request(`http://localhost/api/v1/projects/acme/environments/uat/backups?${query}`), envContext("uat"));

  it("pages by number with Cloud 66's pagination object, newest first", async () => {
    const second = await json(await list("page=2&per_page=3"));
    expect((second.response as { id: string }[]).map((b) => b.id)).toEqual([ids[3], ids[2], ids[1]]);
    expect(second.count).toBe(3);
    expect(second.pagination).toMatchObject({ previous: 1, next: 3, current: 2, per_page: 3, count: 7, pages: 3 });
    const last = await json(await list("page=3&per_page=3"));
    expect((last.response as { id: string }[]).map((b) => b.id)).toEqual([ids[0]]);
    expect(last.pagination).toMatchObject({ previous: 2, next: null, current: 3, count: 7, pages: 3, next_cursor: null });
  });

  it("keeps the cursor walk, and says which page a cursor is on", async () => {
    const first = await json(await list("limit=3"));
    expect(first.pagination).toMatchObject({ previous: null, next: 2, current: 1, per_page: 3, count: 7, pages: 3 });
    const cursor = (first.pagination as { next_cursor: string }).next_cursor;
    expect(cursor).toEqual(expect.any(String));
    const second = await json(await list(`limit=3&cursor=${cursor}`));
    expect((second.response as { id: string }[]).map((b) => b.id)).toEqual([ids[3], ids[2], ids[1]]);
    expect(second.pagination).toMatchObject({ current: 2, previous: 1, next: 3 });
    expect(second.permissions).toEqual({ download: true, upload: true, create: true });
  });

  it("filters by db_type with status and origin, and refuses unknown types and page with cursor", async () => {
    const mysql = await json(await list("db_type=mysql"));
    expect((mysql.response as { id: string; db_type: string }[]).map((b) => b.id)).toEqual([ids[5], ids[3], ids[1]]);
    expect((mysql.pagination as { count: number }).count).toBe(3);
    const uploadedPg = await json(await list("db_type=postgresql&origin=uploaded&status=completed"));
    expect((uploadedPg.response as { id: string }[]).map((b) => b.id)).toEqual([ids[0]]);
    const redis = await list("db_type=redis");
    expect(redis.status).toBe(400);
    expect((await json(redis)).error?.message).toMatch(/db_type/);
    expect((await list("page=2&cursor=abc")).status).toBe(400);
  });

  it("lists a backup's files and hides a backup in an environment the caller has no role in", async () => {
    const ok = await json(
      await filesRoute.GET(request.request("http://localhost"), { params: Promise.resolve({ backupId: "acme-prodfileslinks-202603011100" }) }),
    );
    expect(ok.response).toEqual([
      expect.objectContaining({
        kind: "database",
        name: "database.gz",
        size: 1234,
        download_url: "/backup/download/database/acme-prodfileslinks-202603011100",
      }),
      expect.objectContaining({ kind: "volume", name: "volume.tgz", download_url: "/backup/download/volume/acme-prodfileslinks-202603011100" }),
    ]);
    await request.signIn({ id: "sam", email: "sam@elsewhere.test", name: "Sam", groups: [] });
    const hidden = await filesRoute.GET(request.request("http://localhost"), { params: Promise.resolve({ backupId: "acme-prodfileslinks-202603011100" }) });
    expect(hidden.status).toBe(404);
  });

  const sign = (kind: string, body?: unknown, backupId = "acme-prodfileslinks-202603011100") =>
    urlRoute.POST(
      request.request("http://localhost", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
      { params: Promise.resolve({ backupId, kind }) },
    );

  it("makes a signed link that the download path accepts until it expires, and audits who made it", async () => {
    const before = Date.now();
    const made = await sign("volume", { expires_in: 120 });
    expect(made.status).toBe(200);
    const { url, expires_at } = (await json(made)).response as { url: string; expires_at: string };
    const link = new URL(url);
    expect(`${link.origin}${link.pathname}`).toBe("https://lifeboat.example.com/backup/download/volume/acme-prodfileslinks-202603011100");
    const expires = Number(link.searchParams.get("expires"));
    expect(expires).toBeGreaterThanOrEqual(Math.floor(before / 1000) + 120);
    expect(expires_at).toBe(new Date(expires * 1000).toISOString());
    expect(() => verifySignedDownload({ kind: "volume", backupId: "acme-prodfileslinks-202603011100", query: link.searchParams })).not.toThrow();
    expect(() =>
      verifySignedDownload({ kind: "volume", backupId: "acme-prodfileslinks-202603011100", query: link.searchParams, now: new Date(expires * 1000 + 1) }),
    ).toThrow(/expired/);

    const [audit] = await handle.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.action, "backup.download_url"), eq(auditEvents.backupId, "acme-prodfileslinks-202603011100")));
    expect(audit).toMatchObject({ actor: ADA.email, actorType: "user", detail: { kind: "volume", expiresAt: expires_at } });

    // No body: an hour.
    const hour = (await json(await sign("database"))).response as { expires_at: string };
    expect(Date.parse(hour.expires_at) - before).toBeGreaterThanOrEqual(3600 * 1000 - 1000);
  });

  it("refuses a link to someone who may not download the file, a bad expiry, an unknown kind, and an unfinished backup", async () => {
    await request.signIn(MAX);
    const member = await sign("database");
    expect(member.status).toBe(403);
    expect((await json(member)).error?.code).toBe("forbidden");
    await request.signIn(ADA);
    expect((await sign("database", { expires_in: 59 })).status).toBe(400);
    expect((await sign("database", { expires_in: 86_401 })).status).toBe(400);
    expect((await sign("logs")).status).toBe(404);
    // The uat backups have no files.
    expect((await sign("database", undefined, ids[0])).status).toBe(409);
  });

  const putTask = (body: unknown, environment = "uat") =>
    taskRoute.PUT(
      request.request("http://localhost", { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
      envContext(environment),
    );

  it("reads and changes the backup task through the environment settings", async () => {
    const read = await json(await taskRoute.GET(request.request("http://localhost"), envContext("prd")));
    expect(read.response).toEqual({
      db_type: "postgresql",
      frequency: "0 3 * * *",
      keep_count: 30,
      keep_days: null,
      gzip: true,
      excluded_tables: [],
      run_on_replica_server: false,
    });

    const changed = await putTask({
      frequency: "0 */1 * * *",
      keep_count: 10,
      gzip: true,
      excluded_tables: "my_log_table, other_log",
      run_on_replica_server: false,
      db_type: "postgresql",
    });
    expect(changed.status).toBe(200);
    expect((await json(changed)).response).toEqual({
      db_type: "postgresql",
      frequency: "0 */1 * * *",
      keep_count: 10,
      keep_days: null,
      gzip: true,
      excluded_tables: ["my_log_table", "other_log"],
      run_on_replica_server: false,
    });
    const [row] = await handle.db.select().from(environments).where(eq(environments.id, uat.id));
    expect(row).toMatchObject({ scheduleCron: "0 */1 * * *", retentionKeepCount: 10, excludedTables: ["my_log_table", "other_log"] });
    const audits = await handle.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.action, "environment.update"), eq(auditEvents.environmentId, uat.id)));
    expect(audits).toHaveLength(1);

    // Fields left out keep their value.
    expect((await json(await putTask({ keep_days: 14 }))).response).toMatchObject({ frequency: "0 */1 * * *", keep_count: 10, keep_days: 14 });
  });

  it("refuses what Lifeboat cannot do with 422, bad values with 400, and non-administrators with 403", async () => {
    const gzip = await putTask({ gzip: false });
    expect(gzip.status).toBe(422);
    expect((await json(gzip)).error?.message).toMatch(/always writes gzip'd dumps/);
    expect((await putTask({ run_on_replica_server: true })).status).toBe(422);
    expect((await putTask({ db_type: "mysql" })).status).toBe(422);
    const cron = await putTask({ frequency: "every hour" });
    expect(cron.status).toBe(400);
    expect((await json(cron)).error?.message).toMatch(/frequency/);
    expect((await putTask({ keep_count: 0 })).status).toBe(400);
    await request.signIn(MAX);
    expect((await putTask({ keep_count: 5 })).status).toBe(403);
    expect((await taskRoute.GET(request.request("http://localhost"), envContext("uat"))).status).toBe(200);
  });
});
