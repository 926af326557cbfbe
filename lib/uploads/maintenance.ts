import type { Db } from "@/lib/db/client";
import { recordAuditEvent } from "@/lib/db/queries/audit";
import { getEnvironmentLock } from "@/lib/db/queries/locks";
import { runPeriodically } from "@/lib/jobs/periodic";
import { logger } from "@/lib/logger";
import type { Storage } from "@/lib/storage/types";

import { failUploadSession } from "./complete";
import { sessionIdOfHolder } from "./lock-message";
import { discardSessionData } from "./sessions";
import { getSessionBundle, listCompletingSessions, listSessionsToExpire, listSessionUploads, transitionSession } from "./store";

const SWEEP_BATCH = 100;

/**
 * Open sessions past their expiry (no part for a day) become `expired`, and
 * their parts are deleted from storage and from the database. Returns how
 * many expired.
 */
export async function expireAbandonedUploads({ db, storage, now = new Date() }: { db: Db; storage: Storage; now?: Date }): Promise<number> {
  let expired = 0;
  for (const session of await listSessionsToExpire(db, { now, limit: SWEEP_BATCH })) {
    // Conditional on still being open and expired: a part or a completion may have arrived since the listing.
    const moved = await transitionSession(db, {
      sessionId: session.id,
      from: ["open"],
      to: "expired",
      reason: "No part arrived for a day; the upload expired and its parts were deleted.",
      expiredBefore: now,
    });
    if (!moved) continue;
    expired++;
    await discardSessionData({ db, storage }, await listSessionUploads(db, { sessionId: session.id }), session.id);
    await recordAuditEvent(db, {
      actor: "lifeboat",
      actorType: "system",
      action: "backup.upload_expired",
      environmentId: session.environmentId,
      detail: { sessionId: session.id, createdBy: session.createdBy },
    });
  }
  return expired;
}

export const STALE_COMPLETION_REASON = "The server restarted while verifying this upload; upload again.";

/**
 * Sessions stuck in `completing` whose worker is gone: the process that
 * verified them died, so its lock was no longer renewed and lapsed (or
 * another operation took it over). They fail, and what they stored is
 * deleted. A session whose worker still holds the lock is left alone, so
 * this is safe to run on every instance, at start-up and periodically.
 */
export async function failStaleCompletions({ db, storage }: { db: Db; storage: Storage }): Promise<number> {
  let failed = 0;
  for (const session of await listCompletingSessions(db)) {
    const lock = await getEnvironmentLock(db, { environmentId: session.environmentId });
    if (lock && sessionIdOfHolder(lock.holder) === session.id) continue;
    const bundle = await getSessionBundle(db, { sessionId: session.id });
    if (!bundle) continue;
    if (await failUploadSession({ db, storage }, { bundle, reason: STALE_COMPLETION_REASON, actor: { email: "lifeboat", type: "system" } })) {
      failed++;
    }
  }
  return failed;
}

export const UPLOAD_SWEEP_INTERVAL_MS = 5 * 60 * 1000;

/**
 * Runs both sweeps now and then every few minutes, in the background; the
 * returned function stops it. Every instance may run it: the status changes
 * are conditional, so two sweeps never both act on one session.
 */
export function startUploadMaintenance({
  db,
  storage,
  intervalMs = UPLOAD_SWEEP_INTERVAL_MS,
}: {
  db: () => Db;
  storage: () => Storage;
  intervalMs?: number;
}): () => void {
  return runPeriodically("upload sweep", intervalMs, async () => {
    const deps = { db: db(), storage: storage() };
    const stale = await failStaleCompletions(deps);
    const expired = await expireAbandonedUploads(deps);
    if (stale + expired > 0) logger.info({ stale, expired }, "upload sweep");
  });
}
