import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import path from "node:path";

import { eq } from "drizzle-orm";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import type { MetricFamily } from "parse-prometheus-text-format";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

import { CREATE_BACKUP_QUEUE } from "@/lib/backups/engine";
import { failBackup } from "@/lib/backups/engine/create-backup";
import { IMPORT_QUEUE } from "@/lib/backups/import";
import { RESTORE_QUEUE } from "@/lib/backups/restore";
import { failRestore } from "@/lib/backups/restore/restore-job";
import { applyRetention } from "@/lib/backups/retention";
import { insertTestBackup } from "@/lib/backups/retention/testing";
import { getConfig } from "@/lib/config";
import { backupFiles, backups, environments, jobs, restores } from "@/lib/db/schema";
import type { Environment } from "@/lib/db/schema";
import { insertBackupRows, seedBackup } from "@/lib/downloads/testing/seed";
import { createUploadSession } from "@/lib/uploads/sessions";
import { describeFiles, putPart, startHarness, uploadOf } from "@/lib/uploads/testing";
import type { Harness } from "@/lib/uploads/testing";

import { JOB_QUEUES } from "./collect";
import { startMetricsServer } from "./http";

/*
 * The scrape as Prometheus makes it: GET /metrics over HTTP, parsed by a
 * Prometheus text-format parser, every lifeboat_* family checked by name,
 * type, labels and value against what the fixtures below put in the
 * database and what the byte paths and jobs counted on the way.
 */

vi.hoisted(() => {
  process.env.METRICS_TOKEN = "metrics-test-token-0123456789abcdef";
  process.env.LOG_LEVEL ??= "silent";
});
const TOKEN = process.env.METRICS_TOKEN!;

let h: Harness;
let env: Record<"prd" | "uat" | "dev", Environment>;

const at = (iso: string) => new Date(iso);
const seconds = (iso: string) => Date.parse(iso) / 1000;

// ------------------------------------------------------------------ the fixtures
// prd: its newest completed backup took 120 s, with a 1,000-byte database.gz and a 3,000-byte volume.tgz, and is pinned;
// an older completed one; a failed one after both. uat: nothing completed, one queued backup job waiting. dev: one completed
// backup that is downloaded (whole, then 10 bytes of it) and one backup whose job fails; an upload of 1,234 + 4,321 bytes.
const PRD_NEWEST = {
  id: "acme-metricsnewestprd-202611010300",
  created: "2026-11-01T03:00:00.000Z",
  started: "2026-11-01T03:00:05.000Z",
  done: "2026-11-01T03:02:05.000Z",
};
const PRD_OLDER = { id: "acme-metricsolderprd-202610310300", created: "2026-10-31T03:00:00.000Z" };
const PRD_FAILED = { id: "acme-metricsfailedprd-202611020300", created: "2026-11-02T03:00:00.000Z", done: "2026-11-02T03:00:30.000Z" };
const UAT_RESTORE = { created: "2026-11-03T10:00:00.000Z", started: "2026-11-03T10:00:10.000Z", done: "2026-11-03T10:01:10.000Z" };
const DEV_DOWNLOAD = { id: "acme-metricsdownloaddev-202611040300", database: Buffer.alloc(2_000, 7), volume: Buffer.alloc(500, 9) };
const UPLOAD = { database: Buffer.alloc(1_234, 1), volume: Buffer.alloc(4_321, 2) };

function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

async function seed() {
  const file = (backupId: string, kind: "database" | "volume", size: number) => ({
    backupId,
    kind,
    fileName: kind === "database" ? "database.gz" : "volume.tgz",
    sizeBytes: size,
    sha256: "0".repeat(64),
    storageKey: `backups/${backupId}/${kind}`,
  });
  await insertBackupRows(h.handle.db, { id: PRD_OLDER.id, environmentId: env.prd.id, completedAt: at(PRD_OLDER.created), files: [] });
  await insertBackupRows(h.handle.db, { id: PRD_NEWEST.id, environmentId: env.prd.id, completedAt: at(PRD_NEWEST.done), files: [] });
  await insertBackupRows(h.handle.db, { id: PRD_FAILED.id, environmentId: env.prd.id, status: "failed", files: [] });
  await h.handle.db.insert(backupFiles).values([file(PRD_NEWEST.id, "database", 1_000), file(PRD_NEWEST.id, "volume", 3_000)]);
  const set = (id: string, values: Partial<typeof backups.$inferInsert>) => h.handle.db.update(backups).set(values).where(eq(backups.id, id));
  await set(PRD_OLDER.id, { createdAt: at(PRD_OLDER.created) });
  await set(PRD_NEWEST.id, { createdAt: at(PRD_NEWEST.created), startedAt: at(PRD_NEWEST.started), pinned: true });
  await set(PRD_FAILED.id, { createdAt: at(PRD_FAILED.created), completedAt: at(PRD_FAILED.done) });

  await h.handle.db.insert(restores).values([
    {
      environmentId: env.uat.id,
      status: "completed",
      createdBy: "admin@acme.test",
      createdAt: at(UAT_RESTORE.created),
      startedAt: at(UAT_RESTORE.started),
      completedAt: at(UAT_RESTORE.done),
    },
    {
      environmentId: env.uat.id,
      status: "failed",
      createdBy: "admin@acme.test",
      createdAt: at("2026-10-01T00:00:00Z"),
      completedAt: at("2026-10-01T00:01:00Z"),
    },
  ]);
  const [queuedBackup] = await h.handle.db
    .insert(backups)
    .values({ id: "acme-metricsqueueduat-202611050300", environmentId: env.uat.id, origin: "manual", status: "queued", createdBy: "admin@acme.test" })
    .returning();
  await h.handle.db.insert(jobs).values([
    // Due two minutes ago and not claimed: the queue's oldest. One due in an hour is not waiting yet; a finished one is history.
    { queue: CREATE_BACKUP_QUEUE, payload: { backupId: queuedBackup!.id }, runAt: new Date(Date.now() - 120_000) },
    { queue: CREATE_BACKUP_QUEUE, payload: {}, runAt: new Date(Date.now() + 3_600_000) },
    { queue: CREATE_BACKUP_QUEUE, payload: {}, status: "completed", runAt: new Date(Date.now() - 86_400_000) },
    { queue: RESTORE_QUEUE, payload: {}, status: "running", lockedBy: "worker", leaseExpiresAt: new Date(Date.now() + 60_000) },
  ]);
}

/** What this process counted: a real download over HTTP (whole, then a range), a real upload, a failed backup job and restore. */
async function countEvents() {
  await seedBackup(h.handle.db, h.storage, {
    id: DEV_DOWNLOAD.id,
    environmentId: env.dev.id,
    files: { database: DEV_DOWNLOAD.database, volume: DEV_DOWNLOAD.volume },
  });
  const cookie = { cookie: h.users.admin.cookie };
  expect((await get(`${h.baseUrl}/backup/download/database/${DEV_DOWNLOAD.id}`, cookie)).status).toBe(200);
  expect((await get(`${h.baseUrl}/backup/download/database/${DEV_DOWNLOAD.id}`, { ...cookie, range: "bytes=0-9" })).status).toBe(206);
  expect((await get(`${h.baseUrl}/backup/download/volume/${DEV_DOWNLOAD.id}`, cookie)).status).toBe(200);

  const { session } = await createUploadSession({
    db: h.handle.db,
    storage: h.storage,
    actor: h.users.admin.actor,
    environment: env.dev,
    input: describeFiles(UPLOAD),
  });
  for (const kind of ["database", "volume"] as const) {
    const upload = uploadOf(session, kind);
    expect(upload.partCount).toBe(1);
    expect((await putPart(h, h.users.admin, upload, UPLOAD[kind], 1)).status).toBe(200);
  }

  const doomed = await insertTestBackup({ db: h.handle.db, storage: h.storage }, { environment: env.dev, now: new Date(), daysAgo: 0, status: "running" });
  expect(await failBackup({ db: h.handle.db, storage: h.storage }, { backup: doomed, environment: env.dev, reason: "pg_dump: connection refused" })).toBe(true);
  // Failing it again changes nothing, and counts nothing.
  expect(await failBackup({ db: h.handle.db, storage: h.storage }, { backup: doomed, environment: env.dev, reason: "again" })).toBe(false);
  const [running] = await h.handle.db.insert(restores).values({ environmentId: env.dev.id, status: "running", createdBy: "admin@acme.test" }).returning();
  expect(await failRestore(h.handle.db, { restore: running!, environment: env.dev, reason: "psql failed" })).toBe(true);
}

/** The families a scrape answers, checked to be well-formed beyond what the lenient parser enforces. */
function parseStrictly(text: string): MetricFamily[] {
  const families = parsePrometheusTextFormat(text);
  const sampleLines = text.split("\n").filter((line) => line.trim() !== "" && !line.startsWith("#"));
  // Every sample line belongs to a family the parser typed (a misread line would make an untyped family of its own), and each
  // gauge or counter has exactly one parsed sample per line. (Histograms are prom-client's own; the parser folds their lines.)
  const nameOf = (line: string) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)![0];
  const byName = new Map(families.map((f) => [f.name, f]));
  for (const line of sampleLines) {
    const name = nameOf(line);
    const family = byName.get(name) ?? byName.get(name.replace(/_(bucket|sum|count)$/, ""));
    expect(family, `the line ${line} is in no family`).toBeDefined();
  }
  for (const family of families.filter((f) => f.type === "GAUGE" || f.type === "COUNTER")) {
    expect(family.metrics.length, family.name).toBe(sampleLines.filter((line) => nameOf(line) === family.name).length);
  }
  for (const family of families) {
    expect(family.type, family.name).not.toBe("UNTYPED");
    expect(family.help, family.name).not.toBe("");
    for (const sample of family.metrics) {
      if ("value" in sample) {
        expect(sample.timestamp_ms, family.name).toBeUndefined();
        // A float as Prometheus reads one (Go's ParseFloat: NaN and Inf in any case; prom-client writes an idle gauge as "Nan").
        expect(!Number.isNaN(Number(sample.value)) || /^[+-]?(nan|inf)$/i.test(sample.value), `${family.name} ${sample.value}`).toBe(true);
      }
    }
  }
  return families;
}

/** One family's samples as `{labels} value` lines, sorted: easy to compare and to read in a failure. */
function samples(families: MetricFamily[], name: string): string[] {
  const family = families.find((f) => f.name === name);
  expect(family, `${name} is missing`).toBeDefined();
  return family!.metrics
    .map((sample) => {
      const labels = Object.entries(sample.labels ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(",");
      return `{${labels}} ${"value" in sample ? Number(sample.value) : "?"}`;
    })
    .sort();
}

beforeAll(async () => {
  h = await startHarness({ driver: "local" });
  env = { prd: await h.environment("prd"), uat: await h.environment("uat"), dev: await h.environment("dev") };
  await seed();
  await countEvents();
});

afterAll(async () => {
  await h?.close();
});

describe("GET /metrics", () => {
  it("answers the Prometheus text format, and every lifeboat_* family says what the database and the byte paths say", async () => {
    const reply = await get(`${h.baseUrl}/metrics`, { authorization: `Bearer ${TOKEN}` });
    expect(reply.status).toBe(200);
    expect(reply.headers["content-type"]).toBe("text/plain; version=0.0.4; charset=utf-8");
    const families = parseStrictly(reply.body);
    const types = Object.fromEntries(families.filter((f) => f.name.startsWith("lifeboat_")).map((f) => [f.name, f.type]));

    expect(types).toEqual({
      lifeboat_backup_last_completed_timestamp_seconds: "GAUGE",
      lifeboat_backup_last_duration_seconds: "GAUGE",
      lifeboat_backup_last_size_bytes: "GAUGE",
      lifeboat_backup_last_failed_timestamp_seconds: "GAUGE",
      lifeboat_backups: "GAUGE",
      lifeboat_backups_pinned: "GAUGE",
      lifeboat_restore_last_finished_timestamp_seconds: "GAUGE",
      lifeboat_restore_last_duration_seconds: "GAUGE",
      lifeboat_restore_last_success: "GAUGE",
      lifeboat_restores: "GAUGE",
      lifeboat_jobs_queued: "GAUGE",
      lifeboat_jobs_oldest_queued_age_seconds: "GAUGE",
      lifeboat_jobs_running: "GAUGE",
      lifeboat_backup_failures_total: "COUNTER",
      lifeboat_restore_failures_total: "COUNTER",
      lifeboat_downloaded_bytes_total: "COUNTER",
      lifeboat_uploaded_bytes_total: "COUNTER",
      lifeboat_retention_deleted_backups_total: "COUNTER",
    });

    const devCompleted = (await h.handle.db.select().from(backups).where(eq(backups.id, DEV_DOWNLOAD.id)))[0]!;
    expect(samples(families, "lifeboat_backup_last_completed_timestamp_seconds")).toEqual([
      `{project=acme,environment=dev} ${devCompleted.completedAt!.getTime() / 1000}`,
      `{project=acme,environment=prd} ${seconds(PRD_NEWEST.done)}`,
    ]);
    expect(samples(families, "lifeboat_backup_last_size_bytes")).toEqual(
      [
        "{project=acme,environment=dev,file=database} 2000",
        "{project=acme,environment=dev,file=volume} 500",
        "{project=acme,environment=prd,file=database} 1000",
        "{project=acme,environment=prd,file=volume} 3000",
      ].sort(),
    );
    expect(samples(families, "lifeboat_backup_last_duration_seconds")).toContain("{project=acme,environment=prd} 120");
    expect(samples(families, "lifeboat_backup_last_failed_timestamp_seconds")).toContain(`{project=acme,environment=prd} ${seconds(PRD_FAILED.done)}`);
    expect(samples(families, "lifeboat_backups")).toEqual(
      [
        ...["queued 0", "running 0", "completed 2", "failed 1"].map((s) => `{project=acme,environment=prd,status=${s.replace(" ", "} ")}`),
        ...["queued 1", "running 0", "completed 0", "failed 0"].map((s) => `{project=acme,environment=uat,status=${s.replace(" ", "} ")}`),
        ...["queued 0", "running 0", "completed 1", "failed 1"].map((s) => `{project=acme,environment=dev,status=${s.replace(" ", "} ")}`),
      ].sort(),
    );
    expect(samples(families, "lifeboat_backups_pinned")).toEqual([
      "{project=acme,environment=dev} 0",
      "{project=acme,environment=prd} 1",
      "{project=acme,environment=uat} 0",
    ]);
    // uat's newest finished restore completed, in 60 s; dev's just failed.
    expect(samples(families, "lifeboat_restore_last_finished_timestamp_seconds")).toContain(`{project=acme,environment=uat} ${seconds(UAT_RESTORE.done)}`);
    expect(samples(families, "lifeboat_restore_last_duration_seconds")).toContain("{project=acme,environment=uat} 60");
    expect(samples(families, "lifeboat_restore_last_success")).toEqual(["{project=acme,environment=dev} 0", "{project=acme,environment=uat} 1"]);
    expect(samples(families, "lifeboat_restores").filter((s) => s.includes("environment=uat"))).toEqual(
      ["completed 1", "failed 1", "queued 0", "running 0"].map((s) => `{project=acme,environment=uat,status=${s.replace(" ", "} ")}`),
    );

    expect(samples(families, "lifeboat_jobs_queued")).toEqual(["{queue=backup.create} 1", "{queue=backup.import} 0", "{queue=backup.restore} 0"]);
    expect(samples(families, "lifeboat_jobs_running")).toEqual(["{queue=backup.create} 0", "{queue=backup.import} 0", "{queue=backup.restore} 1"]);
    const age = Number(samples(families, "lifeboat_jobs_oldest_queued_age_seconds")[0]!.split(" ")[1]);
    expect(age).toBeGreaterThanOrEqual(120);
    expect(age).toBeLessThan(180);

    // The counters: 2,000 + 10 bytes of database.gz and 500 of volume.tgz sent; the upload's two parts received.
    // Every environment's counters are there from the first scrape, at 0 where nothing happened: a series that first
    // appeared at 1 would be no increase() to Prometheus.
    const nonZero = (name: string) => samples(families, name).filter((s) => !s.endsWith(" 0"));
    expect(samples(families, "lifeboat_downloaded_bytes_total")).toHaveLength(9);
    expect(nonZero("lifeboat_downloaded_bytes_total")).toEqual([
      "{project=acme,environment=dev,file=database} 2010",
      "{project=acme,environment=dev,file=volume} 500",
    ]);
    expect(samples(families, "lifeboat_uploaded_bytes_total")).toEqual([
      `{project=acme,environment=dev} ${1_234 + 4_321}`,
      "{project=acme,environment=prd} 0",
      "{project=acme,environment=uat} 0",
    ]);
    expect(samples(families, "lifeboat_backup_failures_total")).toHaveLength(6);
    expect(nonZero("lifeboat_backup_failures_total")).toEqual(["{project=acme,environment=dev,operation=create} 1"]);
    expect(nonZero("lifeboat_restore_failures_total")).toEqual(["{project=acme,environment=dev} 1"]);
    // The process's own metrics come along, as any Node exporter's.
    expect(families.map((f) => f.name)).toEqual(expect.arrayContaining(["process_cpu_seconds_total", "nodejs_heap_size_used_bytes"]));
  });

  it("follows the database: a retention run's deletions are counted, and the gauges drop what is gone", async () => {
    await h.handle.db.update(environments).set({ retentionKeepCount: 1 }).where(eq(environments.id, env.prd.id));
    // The newest completed prd backup is pinned and the newest; the older one goes.
    const summary = await applyRetention({ db: h.handle.db, storage: h.storage, environmentId: env.prd.id });
    expect(summary.deleted.map((d) => d.backupId)).toEqual([PRD_OLDER.id]);
    const families = parseStrictly((await get(`${h.baseUrl}/metrics`, { authorization: `Bearer ${TOKEN}` })).body);
    expect(samples(families, "lifeboat_retention_deleted_backups_total")).toContain("{project=acme,environment=prd} 1");
    expect(samples(families, "lifeboat_backups")).toContain("{project=acme,environment=prd,status=completed} 1");
  });

  it("is only for the metrics token: none, a wrong one, or an API token's session gets 401; without METRICS_TOKEN the path is 404", async () => {
    const none = await get(`${h.baseUrl}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers["www-authenticate"]).toBe('Bearer realm="metrics"');
    expect(JSON.parse(none.body)).toEqual({
      error: { code: "unauthorized", message: "Send the metrics token (METRICS_TOKEN) as Authorization: Bearer <token>." },
    });
    expect((await get(`${h.baseUrl}/metrics`, { authorization: `Bearer ${TOKEN}x` })).status).toBe(401);
    expect((await get(`${h.baseUrl}/metrics`, { authorization: `Bearer ${TOKEN.slice(0, -1)}` })).status).toBe(401);
    expect((await get(`${h.baseUrl}/metrics`, { cookie: h.users.admin.cookie })).status).toBe(401);

    const config = getConfig();
    config.metrics.token = undefined;
    try {
      const off = await get(`${h.baseUrl}/metrics`, { authorization: `Bearer ${TOKEN}` });
      expect(off.status).toBe(404);
    } finally {
      config.metrics.token = TOKEN;
    }
  });

  it("METRICS_LISTEN's own server answers /metrics without credentials, the same families, and nothing else", async () => {
    const server = await startMetricsServer({ host: "127.0.0.1", port: 0 });
    try {
      const reply = await get(`http://127.0.0.1:${server.port}/metrics`);
      expect(reply.status).toBe(200);
      const families = parseStrictly(reply.body);
      expect(samples(families, "lifeboat_backups_pinned")).toContain("{project=acme,environment=prd} 1");
      expect((await get(`http://127.0.0.1:${server.port}/`)).status).toBe(404);
      expect((await get(`http://127.0.0.1:${server.port}/api/v1/environments`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });

  it("docs/metrics.md lists every lifeboat_* family with its type, and its alert rules use only those", async () => {
    const doc = readFileSync(path.resolve("docs/metrics.md"), "utf8");
    const families = parseStrictly((await get(`${h.baseUrl}/metrics`, { authorization: `Bearer ${TOKEN}` })).body).filter((f) =>
      f.name.startsWith("lifeboat_"),
    );
    const table = Object.fromEntries(
      [...doc.matchAll(/^\| `(lifeboat_[a-z_]+)(?:\{[a-z]+\})?` \| (gauge|counter) \|/gm)].map((m) => [m[1], m[2]!.toUpperCase()]),
    );
    expect(table).toEqual(Object.fromEntries(families.map((f) => [f.name, f.type])));
    const rules = doc.slice(doc.indexOf("groups:"));
    const used = new Set([...rules.matchAll(/\b(lifeboat_[a-z_]+)\b/g)].map((m) => m[1]));
    expect(used.size).toBeGreaterThan(4);
    for (const name of used) expect(Object.keys(table), name).toContain(name);
  });

  it("knows every queue the server runs", () => {
    expect([...JOB_QUEUES].sort()).toEqual([CREATE_BACKUP_QUEUE, IMPORT_QUEUE, RESTORE_QUEUE].sort());
  });
});
