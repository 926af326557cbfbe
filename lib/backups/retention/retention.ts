import { and, asc, desc, inArray, isNotNull, or, eq } from "drizzle-orm";

import { removeBackup } from "@/lib/backups/delete";
import type { Db } from "@/lib/db/client";
import { backups, environments } from "@/lib/db/schema";
import type { Environment } from "@/lib/db/schema";
import { runPeriodically } from "@/lib/jobs/periodic";
import { logger } from "@/lib/logger";
import { countRetentionDeleted } from "@/lib/metrics/registry";
import type { Storage } from "@/lib/storage/types";
import { environmentLabel } from "@/lib/uploads/access";

import { expiredBackups, policyOf } from "./policy";
import type { RetentionCandidate, RetentionPolicy, RetentionRule } from "./policy";

export { expiredBackups } from "./policy";
export type { RetentionCandidate, RetentionPolicy, RetentionRule } from "./policy";

/*
 * The retention sweep: applies each environment's rules (./policy.ts says
 * which backups they keep and why) every 10 minutes, on every instance.
 *
 * Never deleted, whatever the rules say: the newest completed backup of the
 * environment (even when older than keep days: an environment is never left
 * with nothing to restore), a pinned backup, a queued or running backup, a
 * backup a queued or running restore reads, and a backup an environment lock
 * names. Those are skipped this run and looked at again on the next.
 *
 * Every origin counts alike (scheduled, manual, uploaded, imported): the
 * count is of restore points, as Cloud 66's keep_count is. Age is counted
 * from `created_at`, the time the backup ID carries. Abandoned upload parts
 * are not backups: lib/uploads/maintenance.ts expires those.
 */

export interface RetentionSummary {
  deleted: { backupId: string; environmentId: string; rule: RetentionRule }[];
  /** Expired but left for now: in use, already gone, or (raced) the newest completed. */
  skipped: { backupId: string; reason: string }[];
}

/** The actor retention deletes as, in the audit log. */
export const RETENTION_ACTOR = { email: "retention", type: "system" } as const;

/** What retention judges: an environment's finished backups, newest first (queued and running ones are never expired). */
export async function retentionCandidates(db: Db, environmentId: string): Promise<RetentionCandidate[]> {
  return db
    .select({ id: backups.id, status: backups.status, createdAt: backups.createdAt, pinned: backups.pinned })
    .from(backups)
    .where(and(eq(backups.environmentId, environmentId), inArray(backups.status, ["completed", "failed"])))
    .orderBy(desc(backups.createdAt), desc(backups.id));
}

async function applyToEnvironment(deps: { db: Db; storage: Storage }, environment: Environment, now: Date, summary: RetentionSummary): Promise<void> {
  const policy: Required<RetentionPolicy> = policyOf(environment);
  const candidates = await retentionCandidates(deps.db, environment.id);
  const createdAt = new Map(candidates.map((c) => [c.id, c.createdAt.getTime()]));
  // Oldest first: a run cut short leaves the newer backups.
  const expired = expiredBackups(candidates, policy, now).sort((a, b) => createdAt.get(a.id)! - createdAt.get(b.id)! || (a.id < b.id ? -1 : 1));
  let deleted = 0;
  for (const { id, rule } of expired) {
    const result = await removeBackup(deps, {
      backupId: id,
      actor: RETENTION_ACTOR,
      keepNewestCompleted: true,
      statuses: ["completed", "failed"],
      detail: { reason: "retention", rule, ...policy },
    });
    if (result.outcome === "deleted") {
      summary.deleted.push({ backupId: id, environmentId: environment.id, rule });
      deleted++;
    } else summary.skipped.push({ backupId: id, reason: result.outcome === "in_use" ? result.reason : result.outcome });
  }
  countRetentionDeleted(environment, deleted);
}

/**
 * One retention pass over every environment with a rule. Safe on every
 * instance at once: each delete is decided under the backup's row lock (see
 * removeBackup), so two passes never both delete, nor fail on, one backup.
 */
export async function applyRetention({
  db,
  storage,
  now = new Date(),
  environmentId,
}: {
  db: Db;
  storage: Storage;
  now?: Date;
  /** Only this environment (tests, or a settings change that wants it at once). */
  environmentId?: string;
}): Promise<RetentionSummary> {
  const withRule = or(
    isNotNull(environments.retentionKeepCount),
    isNotNull(environments.retentionDays),
    isNotNull(environments.retentionKeepLast),
    isNotNull(environments.retentionKeepHourly),
    isNotNull(environments.retentionKeepDaily),
    isNotNull(environments.retentionKeepWeekly),
    isNotNull(environments.retentionKeepMonthly),
    isNotNull(environments.retentionKeepYearly),
  );
  const list = await db
    .select()
    .from(environments)
    .where(environmentId ? and(withRule, eq(environments.id, environmentId)) : withRule)
    .orderBy(asc(environments.projectId), asc(environments.name));
  const summary: RetentionSummary = { deleted: [], skipped: [] };
  for (const environment of list) {
    try {
      await applyToEnvironment({ db, storage }, environment, now, summary);
    } catch (err) {
      // One environment's trouble does not hold back the others; the next pass tries again.
      logger.error({ err, environment: environmentLabel(environment) }, "retention failed for an environment");
    }
  }
  if (summary.deleted.length > 0) logger.info({ deleted: summary.deleted.length, skipped: summary.skipped.length }, "retention deleted expired backups");
  return summary;
}

/**
 * After a settings change: when the retention rules changed, applies the
 * environment's new rules at once — what the Settings preview showed is what
 * happens when it is saved, not up to ten minutes later. Null when the
 * rules did not change.
 */
export async function applyChangedRetention(
  deps: { db: Db; storage: Storage },
  { before, after, now = new Date() }: { before: Environment; after: Environment; now?: Date },
): Promise<RetentionSummary | null> {
  if (JSON.stringify(policyOf(before)) === JSON.stringify(policyOf(after))) return null;
  return applyRetention({ ...deps, now, environmentId: after.id });
}

export const RETENTION_INTERVAL_MS = 10 * 60_000;

/** Applies retention now and every `intervalMs` (default 10 minutes) in the background; the returned function stops it. */
export function startRetention({ db, storage, intervalMs = RETENTION_INTERVAL_MS }: { db: Db; storage: Storage; intervalMs?: number }): () => void {
  return runPeriodically("retention", intervalMs, async () => void (await applyRetention({ db, storage })));
}
