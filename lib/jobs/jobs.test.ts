import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { DbHandle } from "@/lib/db/client";
import { acquireEnvironmentLock, getEnvironmentLock } from "@/lib/db/queries/locks";
import { environments, jobs } from "@/lib/db/schema";
import { seedDemoProject } from "@/lib/db/seed";
import { createTestDatabase, DATABASE_KINDS } from "@/lib/db/testing";
import { until } from "@/lib/testing/until";

import { claimJob, enqueueJob, getJob, jobLockHolder, retryDelayMs } from "./queue";
import { PermanentJobError, startJobWorker, sweepExpiredJobs } from "./worker";
import type { JobHandler } from "./worker";

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(DATABASE_KINDS)("job queue on %s", (kind) => {
  let handle: DbHandle;
  beforeAll(async () => {
    handle = await createTestDatabase(kind);
    await seedDemoProject(handle.db);
  });
  afterAll(async () => handle?.close());

  it("gives each job to exactly one of many concurrent claimers", async () => {
    const queue = `claim-${kind}`;
    const ids = new Set<string>();
    for (let i = 0; i < 40; i++) ids.add((await enqueueJob(handle.db, { queue, payload: { i } })).id);
    const claimed: string[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (;;) {
          const job = await claimJob(handle.db, { queues: [queue], workerId: `w${w}`, leaseMs: 60_000 });
          if (!job) return;
          claimed.push(job.id);
        }
      }),
    );
    expect(claimed).toHaveLength(40);
    expect(new Set(claimed)).toEqual(ids);
  });

  it("runs each job once across several workers with concurrency", async () => {
    const queue = `run-${kind}`;
    const runs = new Map<number, number>();
    const handler: JobHandler = {
      async run(job) {
        const i = job.payload.i as number;
        runs.set(i, (runs.get(i) ?? 0) + 1);
        await wait(5);
      },
    };
    for (let i = 0; i < 30; i++) await enqueueJob(handle.db, { queue, payload: { i } });
    const stops = Array.from({ length: 3 }, (_, w) =>
      startJobWorker({ db: handle.db, handlers: { [queue]: handler }, concurrency: 3, pollMs: 10, workerId: `run-${w}` }),
    );
    await until(async () => (await handle.db.select().from(jobs).where(eq(jobs.queue, queue))).every((j) => j.status === "completed"));
    await Promise.all(stops.map((stop) => stop()));
    expect(runs.size).toBe(30);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
  });

  it("retries a failing job with backoff, then fails it after max attempts", async () => {
    const queue = `retry-${kind}`;
    const starts: number[] = [];
    const handler: JobHandler = {
      async run() {
        starts.push(Date.now());
        throw new Error("flaky");
      },
    };
    const job = await enqueueJob(handle.db, { queue, payload: {}, maxAttempts: 3 });
    const stop = startJobWorker({ db: handle.db, handlers: { [queue]: handler }, pollMs: 10, backoff: { baseMs: 150, maxMs: 1_000 } });
    await until(async () => (await getJob(handle.db, { jobId: job.id }))?.status === "failed");
    await stop();
    const final = await getJob(handle.db, { jobId: job.id });
    expect(final).toMatchObject({ status: "failed", attempts: 3, lastError: "flaky", lockedBy: null });
    expect(starts).toHaveLength(3);
    // 150 ms, then 300 ms: the gaps grow.
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(140);
    expect(starts[2]! - starts[1]!).toBeGreaterThanOrEqual(290);
    expect(retryDelayMs(1, { baseMs: 5, maxMs: 100 })).toBe(5);
    expect(retryDelayMs(10, { baseMs: 5, maxMs: 100 })).toBe(100);
  });

  it("fails a job at once on a PermanentJobError", async () => {
    const queue = `permanent-${kind}`;
    const job = await enqueueJob(handle.db, { queue, payload: {}, maxAttempts: 5 });
    const stop = startJobWorker({
      db: handle.db,
      handlers: { [queue]: { run: () => Promise.reject(new PermanentJobError("cannot work")) } },
      pollMs: 10,
    });
    await until(async () => (await getJob(handle.db, { jobId: job.id }))?.status === "failed");
    await stop();
    expect(await getJob(handle.db, { jobId: job.id })).toMatchObject({ attempts: 1, lastError: "cannot work" });
  });

  it("takes back a dead worker's job: requeued, then failed after max attempts, its environment lock released each time", async () => {
    const queue = `dead-${kind}`;
    const [env] = await handle.db.select().from(environments).where(eq(environments.name, "dev"));
    const abandoned: boolean[] = [];
    const handlers = { [queue]: { run: async () => {}, onAbandoned: async (_job: unknown, { final }: { final: boolean }) => void abandoned.push(final) } };
    const job = await enqueueJob(handle.db, { queue, payload: {}, maxAttempts: 2 });

    for (const attempt of [1, 2]) {
      // A worker claims the job, takes the lock, and dies: nothing renews either.
      const claimed = await claimJob(handle.db, { queues: [queue], workerId: `doomed-${attempt}`, leaseMs: 60_000 });
      expect(claimed?.id).toBe(job.id);
      const lock = await acquireEnvironmentLock(handle.db, { environmentId: env!.id, operation: "backup", holder: jobLockHolder(job.id, "x"), ttlMs: 600_000 });
      expect(lock.acquired).toBe(true);
      expect(await sweepExpiredJobs({ db: handle.db, handlers })).toBe(0); // the lease has not lapsed yet
      await handle.db
        .update(jobs)
        .set({ leaseExpiresAt: sql`now() - interval '1 second'` })
        .where(eq(jobs.id, job.id));
      expect(await sweepExpiredJobs({ db: handle.db, handlers })).toBe(1);
      expect(await getEnvironmentLock(handle.db, { environmentId: env!.id })).toBeUndefined();
      expect(await getJob(handle.db, { jobId: job.id })).toMatchObject({ status: attempt === 1 ? "queued" : "failed", lockedBy: null, attempts: attempt });
    }
    expect(abandoned).toEqual([false, true]);
  });

  it("stop() waits for the jobs that are running", async () => {
    const queue = `stop-${kind}`;
    let finished = false;
    const job = await enqueueJob(handle.db, { queue, payload: {} });
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const stop = startJobWorker({
      db: handle.db,
      handlers: {
        [queue]: {
          async run() {
            started();
            await wait(300);
            finished = true;
          },
        },
      },
      pollMs: 10,
    });
    await running;
    await stop();
    expect(finished).toBe(true);
    expect((await getJob(handle.db, { jobId: job.id }))?.status).toBe("completed");
  });

  it("keeps a long job's lease alive with the heartbeat", async () => {
    const queue = `lease-${kind}`;
    const job = await enqueueJob(handle.db, { queue, payload: {} });
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const run = async () => {
      started();
      await finished;
    };
    const stop = startJobWorker({ db: handle.db, handlers: { [queue]: { run } }, pollMs: 10, leaseMs: 300 });
    await running;
    const claimedUntil = (await getJob(handle.db, { jobId: job.id }))!.leaseExpiresAt!.getTime();
    // Twice the lease has passed since the claim (the lease it was claimed with ran out 300 ms ago); without renewals the sweeper would take it.
    await until(() => Date.now() > claimedUntil + 300, 10_000, 20, "two leases to pass");
    expect(await sweepExpiredJobs({ db: handle.db, handlers: {} })).toBe(0);
    expect((await getJob(handle.db, { jobId: job.id }))!.leaseExpiresAt!.getTime()).toBeGreaterThan(claimedUntil);
    finish();
    await stop();
    expect((await getJob(handle.db, { jobId: job.id }))?.status).toBe("completed");
  });
});
