import { and, eq } from "drizzle-orm";

import { auditActorType, canPinBackup } from "@/lib/auth/permissions";
import type { Actor } from "@/lib/auth/permissions";
import type { Db } from "@/lib/db/client";
import { recordAuditEvent } from "@/lib/db/queries/audit";
import { backups } from "@/lib/db/schema";
import { AppError } from "@/lib/errors";
import type { RequestInfo } from "@/lib/http/client-address";
import { environmentLabel } from "@/lib/uploads/access";

import { requireVisibleBackup } from "./visible";
import type { VisibleBackup } from "./visible";

/*
 * Pinning a backup: no retention rule deletes it, and nobody deletes it by
 * hand, until it is unpinned (the check sits in removeBackup, under the
 * backup's row lock). For the restore point before a migration, or one an
 * auditor asked for. Environment administrators only; audited both ways.
 */

/**
 * Pins (`pinned: true`) or unpins a backup and answers it as it is now.
 * Pinning what is pinned already changes nothing and is not audited again.
 * Only a completed backup can be pinned: the others are no restore point.
 */
export async function setBackupPin({
  db,
  actor,
  backupId,
  pinned,
  request,
  productionOnly,
}: {
  db: Db;
  actor: Actor;
  backupId: string;
  pinned: boolean;
  request?: RequestInfo;
  productionOnly?: boolean;
}): Promise<VisibleBackup> {
  const backup = await requireVisibleBackup(actor, backupId, { db, productionOnly });
  const { environment } = backup;
  if (!canPinBackup(actor, environment)) {
    throw new AppError("forbidden", `Only administrators of ${environmentLabel(environment)} may pin or unpin its backups.`);
  }
  if (pinned && backup.status !== "completed") {
    throw new AppError("conflict", `Backup ${backupId} is ${backup.status}; only a completed backup can be pinned.`);
  }
  if (backup.pinned === pinned) return backup;
  const pinnedAt = pinned ? new Date() : null;
  const changed = await db.transaction(async (tx) => {
    const rows = await tx
      .update(backups)
      .set({ pinned, pinnedBy: pinned ? actor.email : null, pinnedAt })
      // Only a change is written and audited: two people pinning at once leave one audit row.
      .where(and(eq(backups.id, backupId), eq(backups.pinned, !pinned)))
      .returning({ id: backups.id });
    if (rows.length === 0) return false;
    await recordAuditEvent(tx, {
      actor: actor.email,
      actorType: auditActorType(actor),
      action: pinned ? "backup.pin" : "backup.unpin",
      projectId: environment.projectId,
      environmentId: environment.id,
      backupId,
      ip: request?.ip ?? null,
      userAgent: request?.userAgent ?? null,
      detail: { ...(actor.tokenId ? { tokenId: actor.tokenId } : {}), ...(pinned ? {} : { pinnedBy: backup.pinnedBy }) },
    });
    return true;
  });
  return changed ? { ...backup, pinned, pinnedBy: pinned ? actor.email : null, pinnedAt } : requireVisibleBackup(actor, backupId, { db, productionOnly });
}
