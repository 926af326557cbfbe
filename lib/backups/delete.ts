import { and, desc, eq, gt, inArray, ne, or, sql } from "drizzle-orm";

import { auditActorType, canAdministerEnvironment } from "@/lib/auth/permissions";
import type { Actor } from "@/lib/auth/permissions";
import { backupObjectKey } from "@/lib/backups/engine/create-backup";
import type { Db } from "@/lib/db/client";
import { recordAuditEvent } from "@/lib/db/queries/audit";
import { backupFiles, backups, environmentLocks, environments, restores } from "@/lib/db/schema";
import type { AuditEvent, Backup, Environment } from "@/lib/db/schema";
import { AppError } from "@/lib/errors";
import { logger } from "@/lib/logger";
import { backupNotFound, requireVisibleBackup } from "@/lib/backups/visible";
import type { Storage } from "@/lib/storage/types";
import { environmentLabel } from "@/lib/uploads/access";

/*
 * Deleting a backup: its rows and its files in storage. One core, two
 * callers — a person through the API (lib/backups/delete.ts deleteBackup)
 * and retention (lib/backups/retention) — so both refuse the same backups
 * and leave the same audit trail.
 */

/** The request a person deleted through, for the audit log. */
export interface DeleteRequestInfo {
  ip?: string | null;
  userAgent?: string | null;
}

/** Who deletes: a person or token (API), or Lifeboat itself (retention). */
export interface DeleteActor {
  email: string;
  type: AuditEvent["actorType"];
}

export type RemoveBackupResult =
  | { outcome: "deleted"; backup: Backup; environment: Environment; storageKeys: string[]; storageErrors: number }
  | { outcome: "missing" }
  | { outcome: "in_use"; reason: string }
  | { outcome: "newest" }
  | { outcome: "pinned" };

/**
 * Why a backup may not go now, in words for people; null when nothing uses it.
 * Reads inside the caller's transaction, after the backup's row is locked.
 */
async function inUseReason(tx: Db, backup: Backup, environment: Environment): Promise<string | null> {
  if (backup.status === "queued" || backup.status === "running") {
    return `it is still being made (${backup.status}); wait until it has completed or failed`;
  }
  const [restore] = await tx
    .select({ id: restores.id, status: restores.status, target: environments.name })
    .from(restores)
    .innerJoin(environments, eq(restores.environmentId, environments.id))
    .where(and(eq(restores.backupId, backup.id), inArray(restores.status, ["queued", "running"])))
    .limit(1);
  if (restore) return `restore ${restore.id} into ${environment.projectId}-${restore.target} reads it (${restore.status})`;
  const [lock] = await tx
    .select()
    .from(environmentLocks)
    .where(and(eq(environmentLocks.backupId, backup.id), gt(environmentLocks.expiresAt, sql`now()`)))
    .limit(1);
  if (lock) return `a ${lock.operation} holding an environment uses it (started ${lock.acquiredAt.toISOString().slice(0, 16).replace("T", " ")} UTC)`;
  return null;
}

/** Every key a backup's files may be stored under: the recorded ones, and where the engine writes (a failed run may leave one). */
function storageKeysOf(backupId: string, recorded: readonly string[]): string[] {
  return [...new Set([...recorded, backupObjectKey(backupId, "database"), backupObjectKey(backupId, "volume")])];
}

/**
 * The shared core. In one transaction: lock the backup's row (FOR UPDATE, so
 * a restore being requested for it — whose insert takes a key-share lock on
 * this row — either committed before and is seen here, or waits and then
 * fails on the foreign key), refuse if anything uses it or it is pinned, delete the row
 * (backup_files cascade) and record the audit event. Then the files are
 * deleted from storage: after the commit, so a row never points at a file
 * that is gone; a file that cannot be deleted is logged with its key (an
 * orphan costs space, never correctness), and a file already gone is fine.
 *
 * `keepNewestCompleted` (retention): refuse unless a newer completed backup
 * of the environment exists, and hold that one (FOR SHARE) until the commit,
 * so a delete racing elsewhere cannot take both.
 *
 * Safe on several instances at once: the row lock makes racing deletes take
 * turns, and the loser finds the row gone (`missing`).
 */
export async function removeBackup(
  deps: { db: Db; storage: Storage },
  input: {
    backupId: string;
    actor: DeleteActor;
    detail?: Record<string, unknown>;
    request?: DeleteRequestInfo;
    keepNewestCompleted?: boolean;
    /** Only a backup in one of these statuses is deleted (retention: completed or failed). */
    statuses?: readonly Backup["status"][];
  },
): Promise<RemoveBackupResult> {
  const result = await deps.db.transaction(async (tx): Promise<RemoveBackupResult> => {
    const [row] = await tx
      .select({ backup: backups, environment: environments })
      .from(backups)
      .innerJoin(environments, eq(backups.environmentId, environments.id))
      .where(eq(backups.id, input.backupId))
      .for("update", { of: backups });
    if (!row) return { outcome: "missing" };
    const { backup, environment } = row;
    if (input.statuses && !input.statuses.includes(backup.status)) return { outcome: "in_use", reason: `it is ${backup.status}` };
    const reason = await inUseReason(tx, backup, environment);
    if (reason) return { outcome: "in_use", reason };
    // Decided under the row lock, so a pin that lands while retention works through its list still holds.
    if (backup.pinned) return { outcome: "pinned" };
    if (input.keepNewestCompleted) {
      const [newer] = await tx
        .select({ id: backups.id })
        .from(backups)
        .where(
          and(
            eq(backups.environmentId, environment.id),
            eq(backups.status, "completed"),
            ne(backups.id, backup.id),
            or(gt(backups.createdAt, backup.createdAt), and(eq(backups.createdAt, backup.createdAt), gt(backups.id, backup.id))),
          ),
        )
        .orderBy(desc(backups.createdAt), desc(backups.id))
        .limit(1)
        .for("share");
      if (!newer && backup.status === "completed") return { outcome: "newest" };
    }
    const files = await tx.select().from(backupFiles).where(eq(backupFiles.backupId, backup.id));
    const deleted = await tx.delete(backups).where(eq(backups.id, backup.id)).returning({ id: backups.id });
    if (deleted.length === 0) return { outcome: "missing" };
    await recordAuditEvent(tx, {
      actor: input.actor.email,
      actorType: input.actor.type,
      action: "backup.delete",
      projectId: environment.projectId,
      environmentId: environment.id,
      backupId: backup.id,
      ip: input.request?.ip ?? null,
      userAgent: input.request?.userAgent ?? null,
      detail: {
        ...input.detail,
        status: backup.status,
        origin: backup.origin,
        createdAt: backup.createdAt.toISOString(),
        files: files.map((f) => ({ kind: f.kind, name: f.fileName, size: f.sizeBytes, sha256: f.sha256 })),
      },
    });
    return {
      outcome: "deleted",
      backup,
      environment,
      storageKeys: storageKeysOf(
        backup.id,
        files.map((f) => f.storageKey),
      ),
      storageErrors: 0,
    };
  });
  if (result.outcome !== "deleted") return result;

  const settled = await Promise.allSettled(result.storageKeys.map((key) => deps.storage.deleteObject(key)));
  settled.forEach((outcome, i) => {
    if (outcome.status === "rejected") {
      logger.error(
        { err: outcome.reason, backupId: input.backupId, key: result.storageKeys[i] },
        "a deleted backup's file could not be deleted from storage; delete it by hand",
      );
    }
  });
  return { ...result, storageErrors: settled.filter((s) => s.status === "rejected").length };
}

/**
 * DELETE /api/v1/backups/{backupId}: a person (or their token) deletes one
 * backup. 404 when they cannot see it, 403 unless they administer its
 * environment, 409 naming what uses it (being made, a restore reads it, an
 * environment lock names it).
 */
export async function deleteBackup({
  db,
  storage,
  actor,
  backupId,
  requestInfo,
  productionOnly = false,
}: {
  db: Db;
  storage: Storage;
  actor: Actor;
  backupId: string;
  requestInfo?: DeleteRequestInfo;
  /** The deployment's production-only setting: other environments' backups are invisible. */
  productionOnly?: boolean;
}): Promise<void> {
  const found = await requireVisibleBackup(actor, backupId, { db, productionOnly });
  if (!canAdministerEnvironment(actor, found.environment)) {
    throw new AppError("forbidden", `Only administrators of ${environmentLabel(found.environment)} may delete its backups.`);
  }
  const result = await removeBackup(
    { db, storage },
    { backupId, actor: { email: actor.email, type: auditActorType(actor) }, request: requestInfo, detail: { tokenId: actor.tokenId ?? null } },
  );
  if (result.outcome === "missing") throw backupNotFound(backupId);
  if (result.outcome !== "deleted") {
    const reason =
      result.outcome === "in_use" ? result.reason : result.outcome === "pinned" ? "it is pinned; unpin it first" : "it is the newest completed backup";
    throw new AppError("conflict", `Backup ${backupId} cannot be deleted now: ${reason}.`);
  }
}
