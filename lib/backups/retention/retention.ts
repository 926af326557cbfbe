import { and, desc, inArray, isNotNull, or, eq } from "drizzle-orm";

import { removeBackup } from "@/lib/backups/delete";
import type { Db } from "@/lib/db/client";
import { backups, environments } from "@/lib/db/schema";
import type { Backup, Environment } from "@/lib/db/schema";
import { runPeriodically } from "@/lib/jobs/periodic";
import { logger } from "@/lib/logger";
import type { Storage } from "@/lib/storage/types";
import { environmentLabel } from "@/lib/uploads/access";

/*
 * Retention: each environment keeps its backups by count and/or by age.
 *
 * - keep count N (`retentionKeepCount`): the N newest completed backups stay.
 * - keep days D (`retentionDays`): completed backups made more than D days ago go.
 * - Both set: a backup goes when EITHER rule says so — the stricter rule wins,
 *   so "keep 30, at most 14 days" never holds a 20-day-old backup because
 *   fewer than 30 exist, nor more than 30 because they are all recent.
 * - Every origin counts alike (scheduled, manual, uploaded, imported): the
 *   count is of restore points, as Cloud 66's keep_count is.
 * - Age is counted from `created_at`, the time the backup ID carries.
 *
 * Never deleted, whatever the rules say: the newest completed backup of the
 * environment (even when older than D days: an environment is never left
 * with nothing to restore), a queued or running backup, a backup a queued or
 * running restore reads, and a backup an environment lock names. Those are
 * skipped this run and looked at again on the next.
 *
 * Failed backups: they hold no files (the engine deletes what a failed run
 * stored; any leftover is deleted with them) and only say what went wrong.
 * They go by age alone, under keep days; with keep count only they stay,
 * since a count of failures is not a count of restore points. Abandoned
 * upload parts are not backups: lib/uploads/maintenance.ts expires those.
 */

export type RetentionRule = "keep_count" | "keep_days";

export interface RetentionPolicy {
  keepCount: number | null;
  keepDays: number | null;
}

export type RetentionCandidate = Pick<Backup, "id" | "status" | "createdAt">;

const DAY_MS = 24 * 60 * 60 * 1000;

/** Newest first, as the Backups page lists them: created_at, then ID. */
function newestFirst(a: RetentionCandidate, b: RetentionCandidate): number {
  return b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/**
 * Which backups the policy expires, each with the rule that does (keep count
 * is named first when both do). Pure: the newest completed backup and every
 * queued or running one are never in the answer; what else uses a backup is
 * checked when it is deleted.
 */
export function expiredBackups(candidates: readonly RetentionCandidate[], policy: RetentionPolicy, now: Date): { id: string; rule: RetentionRule }[] {
  const cutoff = policy.keepDays === null ? null : now.getTime() - policy.keepDays * DAY_MS;
  const tooOld = (b: RetentionCandidate) => cutoff !== null && b.createdAt.getTime() < cutoff;
  const expired: { id: string; rule: RetentionRule }[] = [];
  const completed = candidates.filter((b) => b.status === "completed").sort(newestFirst);
  completed.forEach((backup, index) => {
    if (index === 0) return;
    if (policy.keepCount !== null && index >= policy.keepCount) expired.push({ id: backup.id, rule: "keep_count" });
    else if (tooOld(backup)) expired.push({ id: backup.id, rule: "keep_days" });
  });
  for (const backup of candidates) if (backup.status === "failed" && tooOld(backup)) expired.push({ id: backup.id, rule: "keep_days" });
  return expired;
}

export interface RetentionSummary {
  deleted: { backupId: string; environmentId: string; rule: RetentionRule }[];
  /** Expired but left for now: in use, already gone, or (raced) the newest completed. */
  skipped: { backupId: string; reason: string }[];
}

/** The actor retention deletes as, in the audit log. */
export const RETENTION_ACTOR = { email: "retention", type: "system" } as const;

async function applyToEnvironment(deps: { db: Db; storage: Storage }, environment: Environment, now: Date, summary: RetentionSummary): Promise<void> {
  const policy: RetentionPolicy = { keepCount: environment.retentionKeepCount, keepDays: environment.retentionDays };
  const candidates = await deps.db
    .select({ id: backups.id, status: backups.status, createdAt: backups.createdAt })
    .from(backups)
    .where(and(eq(backups.environmentId, environment.id), inArray(backups.status, ["completed", "failed"])))
    .orderBy(desc(backups.createdAt), desc(backups.id));
  // Oldest first: a run cut short leaves the newer backups.
  for (const { id, rule } of expiredBackups(candidates, policy, now).reverse()) {
    const result = await removeBackup(deps, {
      backupId: id,
      actor: RETENTION_ACTOR,
      keepNewestCompleted: true,
      statuses: ["completed", "failed"],
      detail: { reason: "retention", rule, keepCount: policy.keepCount, keepDays: policy.keepDays },
    });
    if (result.outcome === "deleted") summary.deleted.push({ backupId: id, environmentId: environment.id, rule });
    else summary.skipped.push({ backupId: id, reason: result.outcome === "in_use" ? result.reason : result.outcome });
  }
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
  const withRule = or(isNotNull(environments.retentionKeepCount), isNotNull(environments.retentionDays));
  const list = await db
    .select()
    .from(environments)
    .where(environmentId ? and(withRule, eq(environments.id, environmentId)) : withRule);
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

export const RETENTION_INTERVAL_MS = 10 * 60_000;

/** Applies retention now and every `intervalMs` (default 10 minutes) in the background; the returned function stops it. */
export function startRetention({ db, storage, intervalMs = RETENTION_INTERVAL_MS }: { db: Db; storage: Storage; intervalMs?: number }): () => void {
  return runPeriodically("retention", intervalMs, async () => void (await applyRetention({ db, storage })));
}
