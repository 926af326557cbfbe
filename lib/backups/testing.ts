import { eq, sql } from "drizzle-orm";

import type { Actor } from "@/lib/auth/permissions";
import type { Db } from "@/lib/db/client";
import { resolveEnvironmentRoles } from "@/lib/db/queries/roles";
import { environments, jobs } from "@/lib/db/schema";
import type { Environment, Job } from "@/lib/db/schema";
import { claimJob } from "@/lib/jobs/queue";
import { startJobWorker, sweepExpiredJobs } from "@/lib/jobs/worker";
import type { JobHandlers } from "@/lib/jobs/worker";
import type { Storage } from "@/lib/storage/types";
import { until } from "@/lib/testing/until";

/*
 * Tests only: what the tests of backups, imports, restores and deletes each wrote for themselves — a signed-in
 * person, an environment's source, running the job queue dry, and a worker that dies holding a job.
 */

/** A person signed in with `groups`, with the roles the role bindings give them, as a session or token carries it. */
export async function actorFor(db: Db, email: string, groups: string[], kind: Actor["kind"] = "user"): Promise<Actor> {
  return { kind, id: `sub-${email}`, email, name: null, groups, roles: await resolveEnvironmentRoles(db, { groups }), operator: false };
}

/**
 * Sets the named environment's source and settings. What an earlier test left in the two fields tests rarely
 * name, excluded tables and the stored password, starts empty unless `values` sets it.
 */
export async function configureEnvironment(db: Db, name: string, values: Partial<Environment>): Promise<Environment> {
  const [environment] = await db
    .update(environments)
    .set({ excludedTables: [], dbPasswordEncrypted: null, ...values })
    .where(eq(environments.name, name))
    .returning();
  if (!environment) throw new Error(`No environment named ${name}`);
  return environment;
}

/** Runs a job worker with `handlers` until no job is queued or running, then stops it. */
export async function runJobsUntilIdle(db: Db, handlers: JobHandlers, timeoutMs = 20_000): Promise<void> {
  const stop = startJobWorker({ db, handlers, pollMs: 10 });
  try {
    await until(
      async () =>
        (
          await db
            .select()
            .from(jobs)
            .where(sql`${jobs.status} in ('queued', 'running')`)
        ).length === 0,
      timeoutMs,
    );
  } finally {
    await stop();
  }
}

/**
 * A worker claims the next job of `queue`, gets as far as `meanwhile` takes it, and dies: its lease lapses, and
 * the sweep every instance runs (sweepExpiredJobs) finds the job. Returns the job and how many jobs the sweep took.
 */
export async function workerDiesThenSweep(input: {
  db: Db;
  queue: string;
  handlers: JobHandlers;
  workerId?: string;
  meanwhile?: (job: Job) => Promise<void>;
}): Promise<{ job: Job; swept: number }> {
  const { db, queue, handlers } = input;
  const job = await claimJob(db, { queues: [queue], workerId: input.workerId ?? "doomed", leaseMs: 60_000 });
  if (!job) throw new Error(`No job in ${queue} to claim`);
  await input.meanwhile?.(job);
  await db
    .update(jobs)
    .set({ leaseExpiresAt: sql`now() - interval '1 second'` })
    .where(eq(jobs.id, job.id));
  return { job, swept: await sweepExpiredJobs({ db, handlers }) };
}

/** The keys stored under `prefix`. */
export async function objectsUnder(storage: Storage, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of storage.list(prefix)) keys.push(object.key);
  return keys;
}
