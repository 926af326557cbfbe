import { randomUUID } from "node:crypto";

import { eq } from "drizzle-orm";

import { QUEUED_LOCK_TTL_MS } from "@/lib/backups/engine/create-backup";
import { auditActorType, canDownloadBackup, canRestoreBackup } from "@/lib/auth/permissions";
import { requireVisibleBackup } from "@/lib/backups/visible";
import { requireVisibleEnvironment } from "@/lib/environments/visible";
import type { Actor } from "@/lib/auth/permissions";
import type { Db } from "@/lib/db/client";
import { recordAuditEvent } from "@/lib/db/queries/audit";
import { acquireEnvironmentLock, releaseEnvironmentLock } from "@/lib/db/queries/locks";
import { backups, jobs, restores } from "@/lib/db/schema";
import type { Environment, Restore } from "@/lib/db/schema";
import { missingSourceMessage } from "@/lib/environments/readiness";
import { AppError } from "@/lib/errors";
import { environmentLabel } from "@/lib/uploads/access";
import { environmentBusyError } from "@/lib/uploads/lock-message";

import { RESTORE_QUEUE, restoreLockHolder } from "./restore-job";
import type { RestorePayload } from "./restore-job";

export interface RequestRestoreInput {
  /** The target environment's name in the backup's project; the backup's own environment when left out. */
  environment?: string;
  /** For a production target: its name, typed by the person as a last check. */
  confirm?: string;
}

/**
 * A restore, as `POST /api/v1/backups/{id}/restore` asks for it: checked,
 * then queued. As with backups, the target's environment lock is taken here
 * so the caller learns at once (409) that the environment is busy; the job
 * takes it over.
 *
 * One attempt only: a restore whose worker dies is settled by the sweeper
 * (staging removed, a half swap undone) and marked failed, not re-run
 * unattended — an administrator who asked for it an hour ago should decide
 * whether to overwrite the environment again.
 */
export async function requestRestore({
  db,
  actor,
  backupId,
  input,
  productionOnly = false,
  requestInfo,
}: {
  db: Db;
  actor: Actor;
  backupId: string;
  input: RequestRestoreInput;
  productionOnly?: boolean;
  requestInfo?: { ip?: string | null; userAgent?: string | null };
}): Promise<{ restore: Restore; environment: Environment }> {
  const backup = await requireVisibleBackup(actor, backupId, { db, productionOnly });
  const source = backup.environment;

  const targetName = input.environment ?? source.name;
  const target =
    targetName === source.name
      ? source
      : await requireVisibleEnvironment(actor, { projectId: source.projectId, environment: targetName }, { db, productionOnly });
  const label = environmentLabel(target);
  if (!canRestoreBackup(actor, target)) throw new AppError("forbidden", `Only administrators of ${label} may restore backups into it.`);
  if (!canDownloadBackup(actor, source)) {
    throw new AppError(
      "forbidden",
      `You may not read backups of ${environmentLabel(source)} (only its administrators may), so you cannot restore them either.`,
    );
  }

  if (backup.status !== "completed") throw new AppError("unprocessable", `Backup ${backup.id} is ${backup.status}; only a completed backup can be restored.`);
  const kinds = new Set(backup.files.map((f) => f.kind));
  if (!kinds.has("database") || !kinds.has("volume")) {
    throw new AppError("unprocessable", `Backup ${backup.id} does not have both its database and volume files, so it cannot be restored.`);
  }
  const missing = missingSourceMessage(target, "restore into it");
  if (missing) throw new AppError("unprocessable", missing);
  const engine = backup.dbEngine ?? backup.manifest?.database.engine ?? null;
  if (engine && engine !== target.dbEngine) {
    throw new AppError(
      "unprocessable",
      `Backup ${backup.id} holds a ${engine} database, but ${label} runs ${target.dbEngine}; a restore needs the same database engine.`,
    );
  }
  if (target.isProduction && input.confirm !== target.name) {
    throw new AppError(
      "unprocessable",
      `${label} is a production environment: restoring replaces its database and document library. To confirm, send "confirm": "${target.name}" (type the environment name).`,
      { field: "confirm", expected: target.name },
    );
  }

  const jobId = randomUUID();
  const restoreId = randomUUID();
  const holder = restoreLockHolder(jobId, actor.email);
  const lock = await acquireEnvironmentLock(db, { environmentId: target.id, operation: "restore", holder, backupId: backup.id, ttlMs: QUEUED_LOCK_TTL_MS });
  if (!lock.acquired) throw await environmentBusyError(db, target, lock.heldBy);

  try {
    const restore = await db.transaction(async (tx) => {
      const [row] = await tx
        .insert(restores)
        .values({
          id: restoreId,
          backupId: backup.id,
          environmentId: target.id,
          status: "queued",
          totalBytes: backup.files.reduce((sum, f) => sum + f.sizeBytes, 0),
          createdBy: actor.email,
          createdByType: auditActorType(actor),
        })
        .returning();
      const payload: RestorePayload = { restoreId };
      await tx.insert(jobs).values({ id: jobId, queue: RESTORE_QUEUE, payload: { ...payload }, maxAttempts: 1 });
      await tx.update(backups).set({ restoreStatus: "queued", restoreResult: null }).where(eq(backups.id, backup.id));
      await recordAuditEvent(tx, {
        actor: actor.email,
        actorType: auditActorType(actor),
        action: "backup.restore_requested",
        projectId: target.projectId,
        environmentId: target.id,
        backupId: backup.id,
        ip: requestInfo?.ip ?? null,
        userAgent: requestInfo?.userAgent ?? null,
        detail: { restoreId, jobId, source: environmentLabel(source), target: label, ...(actor.tokenId ? { tokenId: actor.tokenId } : {}) },
      });
      return row!;
    });
    return { restore, environment: target };
  } catch (error) {
    await releaseEnvironmentLock(db, { environmentId: target.id, holder });
    throw error;
  }
}
