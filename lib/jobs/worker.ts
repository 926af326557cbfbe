import { randomUUID } from "node:crypto";
import { hostname } from "node:os";

import type { Db } from "@/lib/db/client";
import type { Job } from "@/lib/db/schema";
import { logger } from "@/lib/logger";

import { runPeriodically } from "./periodic";

import { ABANDONED_REASON, claimJob, completeJob, deferJob, failJob, reclaimExpiredJob, releaseJobLocks, renewJobLease } from "./queue";
import type { BackoffOptions } from "./queue";

export interface JobContext {
  db: Db;
  workerId: string;
  /** Aborted when this worker lost the job (its lease was swept); stop writing and return. */
  signal: AbortSignal;
}

export interface JobHandler {
  run(job: Job, context: JobContext): Promise<void>;
  /**
   * Called by the sweeper after a dead worker's job was taken back: `final`
   * when it will not run again (attempts used up), so whatever it was doing
   * can be marked failed. The environment locks it held are already released.
   */
  onAbandoned?(job: Job, input: { db: Db; final: boolean }): Promise<void>;
}

export type JobHandlers = Readonly<Record<string, JobHandler>>;

/** Thrown by a handler for a failure a retry cannot fix: the job fails at once. */
export class PermanentJobError extends Error {
  override readonly name = "PermanentJobError";
}

/** Thrown by a handler that cannot start yet (what it needs is busy): the job runs again later without spending an attempt. */
export class DeferJobError extends Error {
  override readonly name = "DeferJobError";

  constructor(
    message: string,
    readonly delayMs: number,
  ) {
    super(message);
  }
}

export interface JobWorkerOptions {
  db: Db;
  handlers: JobHandlers;
  /** Jobs run at once by this process. */
  concurrency?: number;
  /** How long an idle slot waits before looking again. */
  pollMs?: number;
  /** A job not renewed for this long is taken for dead; renewed every third of it. */
  leaseMs?: number;
  backoff?: BackoffOptions;
  workerId?: string;
}

export const DEFAULT_LEASE_MS = 60_000;

function sleep(ms: number, wake: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (wake.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      wake.removeEventListener("abort", done);
      resolve();
    }
    wake.addEventListener("abort", done);
  });
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs jobs of the handlers' queues until stopped: `concurrency` slots, each
 * claiming one job at a time. The returned `stop()` claims nothing more and
 * resolves once the jobs already running have finished, so a shutdown never
 * leaves a job half done by choice (one cut short by a crash is swept).
 */
export function startJobWorker(options: JobWorkerOptions): () => Promise<void> {
  const { db, handlers } = options;
  const concurrency = options.concurrency ?? 1;
  const pollMs = options.pollMs ?? 1_000;
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const queues = Object.keys(handlers);
  const stopping = new AbortController();
  const log = logger.child({ workerId });

  async function runOne(job: Job): Promise<void> {
    const handler = handlers[job.queue];
    const lost = new AbortController();
    const heartbeat = setInterval(
      () => {
        renewJobLease(db, { jobId: job.id, workerId, leaseMs })
          .then((held) => {
            if (!held) lost.abort(new Error(`job ${job.id} was taken back by the sweeper`));
          })
          // Retried on the next beat; the lease outlasts three of them.
          .catch((err: unknown) => log.warn({ err, jobId: job.id }, "could not renew a job lease"));
      },
      Math.max(50, Math.floor(leaseMs / 3)),
    );
    heartbeat.unref();
    try {
      if (!handler) throw new PermanentJobError(`no handler for queue ${job.queue}`);
      await handler.run(job, { db, workerId, signal: lost.signal });
      clearInterval(heartbeat);
      await completeJob(db, { jobId: job.id, workerId });
    } catch (error) {
      clearInterval(heartbeat);
      if (error instanceof DeferJobError) {
        await deferJob(db, { jobId: job.id, workerId, delayMs: error.delayMs, reason: error.message });
        return;
      }
      const outcome = await failJob(db, { job, workerId, error: message(error), final: error instanceof PermanentJobError, backoff: options.backoff });
      if (error instanceof PermanentJobError) log.warn({ jobId: job.id, queue: job.queue, reason: error.message }, "job failed");
      else log.error({ err: error, jobId: job.id, queue: job.queue, outcome }, "job run failed");
    } finally {
      clearInterval(heartbeat);
    }
  }

  async function slot(): Promise<void> {
    while (!stopping.signal.aborted) {
      let job: Job | undefined;
      try {
        job = await claimJob(db, { queues, workerId, leaseMs });
      } catch (err) {
        log.error({ err }, "could not claim a job; retrying");
      }
      if (!job) {
        await sleep(pollMs, stopping.signal);
        continue;
      }
      await runOne(job).catch((err: unknown) => log.error({ err, jobId: job.id }, "could not record a job's outcome; the sweeper will"));
    }
  }

  const slots = Array.from({ length: concurrency }, () => slot());
  return async () => {
    stopping.abort();
    await Promise.all(slots);
  };
}

/**
 * Takes back every job whose worker died and tells its handler. Safe on
 * every instance at once (see reclaimExpiredJob). Returns how many.
 */
export async function sweepExpiredJobs({ db, handlers }: { db: Db; handlers: JobHandlers }): Promise<number> {
  let swept = 0;
  for (;;) {
    const job = await reclaimExpiredJob(db);
    if (!job) return swept;
    swept++;
    const final = job.status === "failed";
    await releaseJobLocks(db, { jobId: job.id });
    logger.warn({ jobId: job.id, queue: job.queue, attempts: job.attempts, final }, ABANDONED_REASON);
    await handlers[job.queue]?.onAbandoned?.(job, { db, final }).catch((err: unknown) => logger.error({ err, jobId: job.id }, "a job's abandon hook failed"));
  }
}

export const JOB_SWEEP_INTERVAL_MS = 30_000;

/** Sweeps now and every `intervalMs`; the returned function stops it. */
export function startJobSweeper({ db, handlers, intervalMs = JOB_SWEEP_INTERVAL_MS }: { db: Db; handlers: JobHandlers; intervalMs?: number }): () => void {
  return runPeriodically("job sweep", intervalMs, async () => void (await sweepExpiredJobs({ db, handlers })));
}
