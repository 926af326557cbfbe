import { and, asc, eq, inArray, like, lt, sql } from "drizzle-orm";

import type { Db } from "@/lib/db/client";
import { environmentLocks, jobs } from "@/lib/db/schema";
import type { Job } from "@/lib/db/schema";

/*
 * A small durable queue on the `jobs` table. It runs on PostgreSQL and on the
 * embedded PGlite alike (pg-boss needs its own `pg` connection, which cannot
 * reach PGlite). Every state change is one conditional statement, so racing
 * workers and sweepers on several instances never both act on one job.
 */

export type JobPayload = Record<string, unknown>;

/** Milliseconds from the database's clock: every instance agrees on it, unlike on their own clocks. */
function fromNow(ms: number) {
  return sql`now() + make_interval(secs => ${ms / 1000}::double precision)`;
}

export async function enqueueJob(db: Db, input: { id?: string; queue: string; payload: JobPayload; maxAttempts?: number; delayMs?: number }): Promise<Job> {
  const [job] = await db
    .insert(jobs)
    .values({
      id: input.id,
      queue: input.queue,
      payload: input.payload,
      maxAttempts: input.maxAttempts ?? 3,
      runAt: input.delayMs ? fromNow(input.delayMs) : sql`now()`,
    })
    .returning();
  if (!job) throw new Error("insert returned no row");
  return job;
}

/**
 * Takes the oldest due job of the given queues for `workerId`. FOR UPDATE
 * SKIP LOCKED makes concurrent claimers pass over a row another one is
 * taking instead of waiting for it, so each job goes to exactly one worker.
 */
export async function claimJob(db: Db, input: { queues: readonly string[]; workerId: string; leaseMs: number }): Promise<Job | undefined> {
  if (input.queues.length === 0) return undefined;
  const next = db
    .select({ id: jobs.id })
    .from(jobs)
    .where(and(eq(jobs.status, "queued"), inArray(jobs.queue, [...input.queues]), sql`${jobs.runAt} <= now()`))
    .orderBy(asc(jobs.runAt))
    .limit(1)
    .for("update", { skipLocked: true });
  const [job] = await db
    .update(jobs)
    .set({
      status: "running",
      attempts: sql`${jobs.attempts} + 1`,
      lockedBy: input.workerId,
      leaseExpiresAt: fromNow(input.leaseMs),
      updatedAt: sql`now()`,
    })
    // The status check again: under READ COMMITTED a row re-read after a wait must still be queued.
    .where(and(eq(jobs.id, sql`(${next})`), eq(jobs.status, "queued")))
    .returning();
  return job;
}

/** Extends the lease of a job this worker still owns; false when it no longer does (swept as dead). */
export async function renewJobLease(db: Db, input: { jobId: string; workerId: string; leaseMs: number }): Promise<boolean> {
  const rows = await db
    .update(jobs)
    .set({ leaseExpiresAt: fromNow(input.leaseMs), updatedAt: sql`now()` })
    .where(and(eq(jobs.id, input.jobId), eq(jobs.lockedBy, input.workerId), eq(jobs.status, "running")))
    .returning({ id: jobs.id });
  return rows.length > 0;
}

export async function completeJob(db: Db, input: { jobId: string; workerId: string }): Promise<boolean> {
  const rows = await db
    .update(jobs)
    .set({ status: "completed", lockedBy: null, leaseExpiresAt: null, lastError: null, updatedAt: sql`now()` })
    .where(and(eq(jobs.id, input.jobId), eq(jobs.lockedBy, input.workerId), eq(jobs.status, "running")))
    .returning({ id: jobs.id });
  return rows.length > 0;
}

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 5_000, maxMs: 10 * 60_000 };

/** Exponential: base, 2×base, 4×base … capped; `attempts` counts the failed run. */
export function retryDelayMs(attempts: number, backoff: BackoffOptions = DEFAULT_BACKOFF): number {
  return Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, attempts - 1));
}

/**
 * A failed run: queued again after a backoff while attempts remain, otherwise
 * failed for good (`final` forces that, for errors a retry cannot fix).
 */
export async function failJob(
  db: Db,
  input: { job: Pick<Job, "id" | "attempts" | "maxAttempts">; workerId: string; error: string; final?: boolean; backoff?: BackoffOptions },
): Promise<"queued" | "failed" | "lost"> {
  const { job } = input;
  const retry = !input.final && job.attempts < job.maxAttempts;
  const rows = await db
    .update(jobs)
    .set(
      retry
        ? {
            status: "queued",
            runAt: fromNow(retryDelayMs(job.attempts, input.backoff)),
            lockedBy: null,
            leaseExpiresAt: null,
            lastError: input.error,
            updatedAt: sql`now()`,
          }
        : { status: "failed", lockedBy: null, leaseExpiresAt: null, lastError: input.error, updatedAt: sql`now()` },
    )
    .where(and(eq(jobs.id, job.id), eq(jobs.lockedBy, input.workerId), eq(jobs.status, "running")))
    .returning({ id: jobs.id });
  if (rows.length === 0) return "lost";
  return retry ? "queued" : "failed";
}

/**
 * Puts a job back without spending an attempt, e.g. when what it needs is
 * busy for now: the claim counted one, this gives it back.
 */
export async function deferJob(db: Db, input: { jobId: string; workerId: string; delayMs: number; reason: string }): Promise<boolean> {
  const rows = await db
    .update(jobs)
    .set({
      status: "queued",
      attempts: sql`greatest(${jobs.attempts} - 1, 0)`,
      runAt: fromNow(input.delayMs),
      lockedBy: null,
      leaseExpiresAt: null,
      lastError: input.reason,
      updatedAt: sql`now()`,
    })
    .where(and(eq(jobs.id, input.jobId), eq(jobs.lockedBy, input.workerId), eq(jobs.status, "running")))
    .returning({ id: jobs.id });
  return rows.length > 0;
}

export async function getJob(db: Db, { jobId }: { jobId: string }): Promise<Job | undefined> {
  const [job] = await db.select().from(jobs).where(eq(jobs.id, jobId));
  return job;
}

/**
 * The environment-lock holder a job's run uses. It starts with the job id, so
 * the sweeper can release whatever lock a dead run held; the rest is free
 * text for people (lib/uploads/lock-message.ts picks an e-mail out of it).
 */
export function jobLockHolder(jobId: string, label: string): string {
  return `job:${jobId}:${label}`;
}

export async function releaseJobLocks(db: Db, { jobId }: { jobId: string }): Promise<number> {
  const rows = await db
    .delete(environmentLocks)
    .where(like(environmentLocks.holder, `job:${jobId}:%`))
    .returning({ environmentId: environmentLocks.environmentId });
  return rows.length;
}

export const ABANDONED_REASON = "The Lifeboat process running this job stopped (its lease expired).";

/**
 * One job whose worker died (lease lapsed), taken back: queued again at once
 * while attempts remain, failed otherwise. The same SKIP LOCKED claim as
 * `claimJob`, so concurrent sweepers take different jobs.
 */
export async function reclaimExpiredJob(db: Db): Promise<Job | undefined> {
  const next = db
    .select({ id: jobs.id })
    .from(jobs)
    .where(and(eq(jobs.status, "running"), lt(jobs.leaseExpiresAt, sql`now()`)))
    .limit(1)
    .for("update", { skipLocked: true });
  const [job] = await db
    .update(jobs)
    .set({
      status: sql`case when ${jobs.attempts} >= ${jobs.maxAttempts} then 'failed'::job_status else 'queued'::job_status end`,
      runAt: sql`now()`,
      lockedBy: null,
      leaseExpiresAt: null,
      lastError: ABANDONED_REASON,
      updatedAt: sql`now()`,
    })
    .where(and(eq(jobs.id, sql`(${next})`), eq(jobs.status, "running"), lt(jobs.leaseExpiresAt, sql`now()`)))
    .returning();
  return job;
}
