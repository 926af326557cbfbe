import { sql } from "drizzle-orm";

import type { Db } from "@/lib/db/client";

import type { Instruments } from "./registry";

/*
 * The gauges, read from the database at scrape time. Each query walks an
 * index per environment (the newest completed, failed, finished restore)
 * or counts over one (backups by environment and status, jobs by status
 * and queue), so a scrape costs the same with ten backups or a million.
 */

/** The job queues Lifeboat runs, so each has a series (0 when idle) before its first job: see server.ts. */
export const JOB_QUEUES = ["backup.create", "backup.import", "backup.restore"] as const;

/** postgres-js answers an array of rows, PGlite an object holding them. */
function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

interface EnvironmentRow {
  project: string;
  environment: string;
  completed_at: number | null;
  duration: number | null;
  database_bytes: number | null;
  volume_bytes: number | null;
  failed_at: number | null;
  restored_at: number | null;
  restore_duration: number | null;
  restore_status: string | null;
}

async function environmentRows(db: Db): Promise<EnvironmentRow[]> {
  return rowsOf<EnvironmentRow>(
    await db.execute(sql`
      select e.project_id as project, e.name as environment,
        extract(epoch from last.completed_at)::float8 as completed_at,
        extract(epoch from (last.completed_at - coalesce(last.started_at, last.created_at)))::float8 as duration,
        (select f.size_bytes::float8 from backup_files f where f.backup_id = last.id and f.kind = 'database') as database_bytes,
        (select f.size_bytes::float8 from backup_files f where f.backup_id = last.id and f.kind = 'volume') as volume_bytes,
        extract(epoch from coalesce(failed.completed_at, failed.created_at))::float8 as failed_at,
        extract(epoch from restored.completed_at)::float8 as restored_at,
        extract(epoch from (restored.completed_at - coalesce(restored.started_at, restored.created_at)))::float8 as restore_duration,
        restored.status::text as restore_status
      from environments e
      -- status::text keeps the planner on the (environment, created_at, id) index, read backwards until the first completed
      -- one, even without statistics (PGlite never analyzes); failed backups are few, and found through the status index.
      left join lateral (
        select b.id, b.created_at, b.started_at, b.completed_at from backups b
        where b.environment_id = e.id and b.status::text = 'completed' order by b.environment_id desc, b.created_at desc, b.id desc limit 1
      ) last on true
      left join lateral (
        select b.created_at, b.completed_at from backups b
        where b.environment_id = e.id and b.status = 'failed' order by b.created_at desc, b.id desc limit 1
      ) failed on true
      left join lateral (
        select r.status, r.created_at, r.started_at, r.completed_at from restores r
        where r.environment_id = e.id and r.status in ('completed', 'failed') order by r.created_at desc limit 1
      ) restored on true
      order by e.project_id, e.name`),
  );
}

interface CountRow {
  project: string;
  environment: string;
  status: string;
  count: number;
  pinned: number;
}

async function backupCounts(db: Db): Promise<CountRow[]> {
  return rowsOf<CountRow>(
    await db.execute(sql`
      select e.project_id as project, e.name as environment, b.status::text as status, count(*)::int as count,
        (count(*) filter (where b.pinned))::int as pinned
      from backups b join environments e on e.id = b.environment_id
      group by e.project_id, e.name, b.status`),
  );
}

async function restoreCounts(db: Db): Promise<Omit<CountRow, "pinned">[]> {
  return rowsOf(
    await db.execute(sql`
      select e.project_id as project, e.name as environment, r.status::text as status, count(*)::int as count
      from restores r join environments e on e.id = r.environment_id
      group by e.project_id, e.name, r.status`),
  );
}

interface JobRow {
  queue: string;
  queued: number;
  running: number;
  oldest: number | null;
}

async function jobCounts(db: Db): Promise<JobRow[]> {
  // Only queued and running rows: finished jobs stay in the table and are never read here.
  return rowsOf<JobRow>(
    await db.execute(sql`
      select queue,
        (count(*) filter (where status = 'queued' and run_at <= now()))::int as queued,
        (count(*) filter (where status = 'running'))::int as running,
        extract(epoch from (now() - min(run_at) filter (where status = 'queued' and run_at <= now())))::float8 as oldest
      from jobs where status in ('queued', 'running')
      group by queue`),
  );
}

/** Sets every gauge from the database; an environment or queue that has gone also goes from the answer. */
export async function refreshDatabaseGauges(db: Db, instruments: Instruments): Promise<void> {
  const [environments, counts, restores, jobs] = await Promise.all([environmentRows(db), backupCounts(db), restoreCounts(db), jobCounts(db)]);
  const gauges = [
    instruments.lastCompleted,
    instruments.lastDuration,
    instruments.lastSize,
    instruments.lastFailed,
    instruments.backups,
    instruments.pinned,
    instruments.lastRestoreFinished,
    instruments.lastRestoreDuration,
    instruments.lastRestoreSucceeded,
    instruments.restores,
    instruments.jobsQueued,
    instruments.jobsOldestQueued,
    instruments.jobsRunning,
  ];
  for (const gauge of gauges) gauge.reset();

  for (const row of environments) {
    const env = { project: row.project, environment: row.environment };
    // Every environment has its counts and pins, 0 included, so "none completed" is a series and not an absence.
    for (const status of ["queued", "running", "completed", "failed"]) instruments.backups.set({ ...env, status }, 0);
    instruments.pinned.set(env, 0);
    for (const status of ["queued", "running", "completed", "failed"]) instruments.restores.set({ ...env, status }, 0);
    // Counters too start at 0 for every environment: a series that first appears at 1 is no increase() to Prometheus.
    for (const operation of ["create", "import"]) instruments.failures.inc({ ...env, operation }, 0);
    instruments.restoreFailures.inc(env, 0);
    for (const file of ["database", "volume", "archive"]) instruments.downloaded.inc({ ...env, file }, 0);
    instruments.uploaded.inc(env, 0);
    instruments.retentionDeleted.inc(env, 0);
    if (row.completed_at !== null) {
      instruments.lastCompleted.set(env, row.completed_at);
      if (row.duration !== null) instruments.lastDuration.set(env, Math.max(0, row.duration));
      if (row.database_bytes !== null) instruments.lastSize.set({ ...env, file: "database" }, row.database_bytes);
      if (row.volume_bytes !== null) instruments.lastSize.set({ ...env, file: "volume" }, row.volume_bytes);
    }
    if (row.failed_at !== null) instruments.lastFailed.set(env, row.failed_at);
    if (row.restored_at !== null) {
      instruments.lastRestoreFinished.set(env, row.restored_at);
      if (row.restore_duration !== null) instruments.lastRestoreDuration.set(env, Math.max(0, row.restore_duration));
      instruments.lastRestoreSucceeded.set(env, row.restore_status === "completed" ? 1 : 0);
    }
  }
  for (const row of counts) {
    const env = { project: row.project, environment: row.environment };
    instruments.backups.set({ ...env, status: row.status }, row.count);
    instruments.pinned.inc(env, row.pinned);
  }
  for (const row of restores) instruments.restores.set({ project: row.project, environment: row.environment, status: row.status }, row.count);

  for (const queue of JOB_QUEUES) {
    instruments.jobsQueued.set({ queue }, 0);
    instruments.jobsRunning.set({ queue }, 0);
    instruments.jobsOldestQueued.set({ queue }, 0);
  }
  for (const row of jobs) {
    instruments.jobsQueued.set({ queue: row.queue }, row.queued);
    instruments.jobsRunning.set({ queue: row.queue }, row.running);
    instruments.jobsOldestQueued.set({ queue: row.queue }, Math.max(0, row.oldest ?? 0));
  }
}
