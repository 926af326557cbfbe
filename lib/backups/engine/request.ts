import { randomUUID } from "node:crypto";

import { generateBackupId } from "@/lib/backups/backup-id";
import { auditActorType, canChangeEnvironmentSources, canCreateBackup } from "@/lib/auth/permissions";
import type { Actor } from "@/lib/auth/permissions";
import type { Db } from "@/lib/db/client";
import { getBackup } from "@/lib/db/queries/backups";
import type { BackupWithFiles } from "@/lib/db/queries/backups";
import { acquireEnvironmentLock, releaseEnvironmentLock } from "@/lib/db/queries/locks";
import { backups, jobs } from "@/lib/db/schema";
import type { Backup, Environment } from "@/lib/db/schema";
import { checkEnvironmentReadiness, missingSourceMessage } from "@/lib/environments/readiness";
import { AppError } from "@/lib/errors";
import { environmentLabel } from "@/lib/uploads/access";
import { environmentBusyError } from "@/lib/uploads/lock-message";

import { jobLockHolder } from "@/lib/jobs/queue";

import { CREATE_BACKUP_QUEUE, QUEUED_LOCK_TTL_MS } from "./create-backup";
import type { CreateBackupPayload } from "./create-backup";

export interface RequestBackupInput {
  name?: string;
  description?: string;
}

/**
 * A manual backup, as `POST …/backups` asks for it: checked, then queued.
 * The environment lock is taken here, not when a worker gets to the job, so
 * the caller learns at once (409) that a backup, upload or restore is
 * running, and two requests can never both queue one. The job takes the
 * lock over when it starts.
 */
export async function requestBackup({
  db,
  actor,
  environment,
  input,
  origin = "manual",
}: {
  db: Db;
  actor: Actor;
  environment: Environment;
  input: RequestBackupInput;
  origin?: "manual" | "scheduled";
}): Promise<BackupWithFiles> {
  if (!canCreateBackup(actor, environment)) {
    throw new AppError("forbidden", `Only administrators of ${environmentLabel(environment)} may create its backups.`);
  }
  const missing = missingSourceMessage(environment, "make a backup of it");
  if (missing) throw new AppError("unprocessable", missing);
  // Someone waiting for their backup learns now, in one line, what is missing. A scheduled one goes ahead
  // and fails with the same reason on the Backups page, where nobody watching a queue would miss it.
  if (origin === "manual") {
    const readiness = await checkEnvironmentReadiness(environment, { purpose: "backup", showSources: canChangeEnvironmentSources(actor, environment) });
    if (readiness.problem) throw new AppError("unprocessable", `Lifeboat cannot make a backup of ${environmentLabel(environment)}: ${readiness.problem}`);
  }

  return queueBackupJob({
    db,
    actor,
    environment,
    backup: { name: input.name, description: input.description, origin, createdByType: origin === "scheduled" ? "system" : auditActorType(actor) },
    // One attempt more than the first run: a server that dies mid-backup gets one retry from the start.
    job: { queue: CREATE_BACKUP_QUEUE, maxAttempts: 2, payload: (backupId): CreateBackupPayload => ({ backupId }) },
  });
}

/**
 * Queues a job that makes a backup (created, imported): the environment lock
 * first, so a busy environment answers 409 at once and two requests can never
 * both queue one; then the queued backup row and its job in one transaction.
 * The job takes the lock over when it starts; a failed insert gives it back.
 */
export async function queueBackupJob({
  db,
  actor,
  environment,
  backup,
  job,
}: {
  db: Db;
  actor: Actor;
  environment: Environment;
  backup: { name?: string; description?: string; origin: Backup["origin"]; createdByType: Backup["createdByType"] };
  job: { queue: string; maxAttempts: number; payload: (backupId: string) => object };
}): Promise<BackupWithFiles> {
  const jobId = randomUUID();
  const backupId = generateBackupId(environment.projectId);
  const holder = jobLockHolder(jobId, actor.email);
  const lock = await acquireEnvironmentLock(db, { environmentId: environment.id, operation: "backup", holder, backupId, ttlMs: QUEUED_LOCK_TTL_MS });
  if (!lock.acquired) throw await environmentBusyError(db, environment, lock.heldBy);

  try {
    await db.transaction(async (tx) => {
      await tx.insert(backups).values({
        id: backupId,
        environmentId: environment.id,
        name: backup.name ?? null,
        description: backup.description ?? null,
        origin: backup.origin,
        status: "queued",
        dbEngine: environment.dbEngine,
        createdBy: actor.email,
        createdByType: backup.createdByType,
      });
      await tx.insert(jobs).values({ id: jobId, queue: job.queue, payload: { ...job.payload(backupId) }, maxAttempts: job.maxAttempts });
    });
  } catch (error) {
    await releaseEnvironmentLock(db, { environmentId: environment.id, holder });
    throw error;
  }
  const queued = await getBackup(db, { id: backupId });
  if (!queued) throw new Error(`backup ${backupId} vanished after it was queued`);
  const { environment: _environment, ...withFiles } = queued;
  return withFiles;
}
