import type { Db } from "@/lib/db/client";
import { acquireEnvironmentLock, renewEnvironmentLock } from "@/lib/db/queries/locks";
import type { LockOperation } from "@/lib/db/queries/locks";
import type { Environment } from "@/lib/db/schema";
import { logger } from "@/lib/logger";
import { environmentLabel } from "@/lib/uploads/access";

import { DeferJobError } from "./worker";

/*
 * A job that works on an environment (backup, import, restore) holds the
 * environment lock its request took: it takes it over when it starts, keeps
 * renewing it while it runs, and stops the moment it is lost.
 */

export interface EnvironmentLease {
  environment: Environment;
  holder: string;
  ttlMs: number;
  /** What the job is, for messages: "backup", "import", "restore". */
  work: string;
}

/** How long a job whose environment is busy waits before it looks again (without spending an attempt). */
export const ENVIRONMENT_BUSY_RETRY_MS = 30_000;

/**
 * Takes over the lock the request took for this job, or takes it afresh if it
 * lapsed while the job waited; a busy environment defers the job.
 */
export async function holdEnvironmentLock(db: Db, lease: EnvironmentLease & { operation: LockOperation; backupId: string | null }): Promise<void> {
  const { environment, holder, ttlMs } = lease;
  if (await renewEnvironmentLock(db, { environmentId: environment.id, holder, ttlMs })) return;
  const lock = await acquireEnvironmentLock(db, {
    environmentId: environment.id,
    operation: lease.operation,
    holder,
    backupId: lease.backupId ?? undefined,
    ttlMs,
  });
  if (!lock.acquired) {
    throw new DeferJobError(
      `${environmentLabel(environment)} is busy with a ${lock.heldBy.operation}; the ${lease.work} waits for it.`,
      ENVIRONMENT_BUSY_RETRY_MS,
    );
  }
}

/**
 * Renews the lock every quarter of its lease while the job runs. Losing it
 * aborts `abort` with the error `lost` makes (each job's own error type, so
 * its failure path reports the message); the returned function stops renewing.
 */
export function keepEnvironmentLock(db: Db, lease: EnvironmentLease, abort: AbortController, lost: (message: string) => Error): () => void {
  const { environment, holder, ttlMs } = lease;
  const timer = setInterval(
    () => {
      renewEnvironmentLock(db, { environmentId: environment.id, holder, ttlMs })
        .then((held) => {
          if (!held) abort.abort(lost(`${environmentLabel(environment)} was taken over by another operation while this ${lease.work} ran (its lock lapsed).`));
        })
        .catch((err: unknown) => logger.warn({ err, environmentId: environment.id }, "could not renew the environment lock"));
    },
    Math.max(250, ttlMs / 4),
  );
  timer.unref();
  return () => clearInterval(timer);
}
