import { CronExpressionParser } from "cron-parser";
import { and, eq, isNotNull, isNull, lt, or } from "drizzle-orm";

import type { Actor } from "@/lib/auth/permissions";
import { requestBackup } from "@/lib/backups/engine/request";
import type { Db } from "@/lib/db/client";
import { recordAuditEvent } from "@/lib/db/queries/audit";
import { environments } from "@/lib/db/schema";
import type { Environment } from "@/lib/db/schema";
import { isAppError } from "@/lib/errors";
import { runPeriodically } from "@/lib/jobs/periodic";
import { logger } from "@/lib/logger";
import { environmentLabel } from "@/lib/uploads/access";

/*
 * Scheduled backups. Every instance ticks (every 30 s by default); a tick
 * looks at each environment with a cron schedule (UTC), finds the latest slot
 * at or before now, and, if it is after the environment's
 * `schedule_last_slot`, claims it with one conditional UPDATE. Only the
 * instance whose UPDATE moved the slot queues the backup, on the durable job
 * queue like a manual one, so several instances never start a slot twice.
 *
 * Missed slots are not backfilled:
 * - first sight (no slot recorded yet: the schedule was just set or changed —
 *   the settings clear the recorded slot when the cron changes): the latest
 *   slot is recorded, and run only if it is at most `graceMs` (10 minutes)
 *   old. Setting "0 3 * * *" at 14:00 does not start a backup at 14:00.
 * - later (Lifeboat was down over one or more slots): the latest missed slot
 *   runs once when it is back, the ones before it never. A nightly backup
 *   missed during an outage is made late rather than not at all.
 *
 * A slot whose environment is busy (a backup, upload or restore holds its
 * lock) is skipped and recorded in the audit log as `backup.schedule_skipped`
 * with the reason; one that cannot start at all (no database source, …) as
 * `backup.schedule_failed`. Neither is retried: the next slot is the retry.
 */

/** Who scheduled backups are created by, in the backup list and the audit log. */
export const SCHEDULER_ACTOR = "scheduler";
export const SCHEDULE_GRACE_MS = 10 * 60_000;
export const SCHEDULER_INTERVAL_MS = 30_000;

/** The latest slot of a five-field cron expression (UTC) at or before `now`; null if it cannot be read. */
export function latestSlot(cron: string, now: Date): Date | null {
  try {
    // prev() is strictly before its start: one millisecond on, a slot equal to now counts.
    return CronExpressionParser.parse(cron, { tz: "UTC", currentDate: new Date(now.getTime() + 1) })
      .prev()
      .toDate();
  } catch {
    return null;
  }
}

/**
 * Lifeboat acting for a schedule: an administrator of this one environment
 * only, so requestBackup's permission check passes for it and for nothing
 * else. People's permissions are untouched. (requestBackup records scheduled
 * backups with created_by_type "system".)
 */
function schedulerActor(environment: Pick<Environment, "id">): Actor {
  return {
    kind: "user",
    id: `system:${SCHEDULER_ACTOR}`,
    email: SCHEDULER_ACTOR,
    name: "Lifeboat scheduler",
    groups: [],
    roles: new Map([[environment.id, "admin"]]),
    operator: false,
  };
}

export type ScheduleOutcome =
  | { environmentId: string; slot: Date; outcome: "queued"; backupId: string }
  | { environmentId: string; slot: Date; outcome: "skipped" | "failed"; reason: string }
  /** First sight of a schedule whose latest slot is older than the grace window: recorded, not run. */
  | { environmentId: string; slot: Date; outcome: "not_run" };

function clock(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/**
 * Moves the environment's last slot to `slot` unless another instance did
 * (or the schedule changed meanwhile). One statement: exactly one caller per
 * slot gets the row back.
 */
async function claimSlot(db: Db, environment: Environment, slot: Date): Promise<Environment | undefined> {
  const [claimed] = await db
    .update(environments)
    .set({ scheduleLastSlot: slot })
    .where(
      and(
        eq(environments.id, environment.id),
        eq(environments.scheduleCron, environment.scheduleCron!),
        or(isNull(environments.scheduleLastSlot), lt(environments.scheduleLastSlot, slot)),
      ),
    )
    .returning();
  return claimed;
}

async function startSlot(db: Db, environment: Environment, slot: Date): Promise<ScheduleOutcome> {
  const base = { environmentId: environment.id, slot };
  try {
    const backup = await requestBackup({
      db,
      actor: schedulerActor(environment),
      environment,
      origin: "scheduled",
      input: { description: `Scheduled (${environment.scheduleCron}) for ${clock(slot)}` },
    });
    logger.info({ environment: environmentLabel(environment), slot, backupId: backup.id }, "scheduled backup queued");
    return { ...base, outcome: "queued", backupId: backup.id };
  } catch (error) {
    const busy = isAppError(error) && error.code === "conflict";
    const reason = isAppError(error) ? error.message : "Lifeboat could not queue the backup because of an internal error (it has been logged).";
    if (!isAppError(error)) logger.error({ err: error, environment: environmentLabel(environment) }, "a scheduled backup could not be queued");
    await recordAuditEvent(db, {
      actor: SCHEDULER_ACTOR,
      actorType: "system",
      action: busy ? "backup.schedule_skipped" : "backup.schedule_failed",
      projectId: environment.projectId,
      environmentId: environment.id,
      detail: { slot: slot.toISOString(), cron: environment.scheduleCron, reason },
    });
    return { ...base, outcome: busy ? "skipped" : "failed", reason };
  }
}

/**
 * One scheduler tick at `now`. Returns what it did for the slots it won
 * (an instance that lost a slot to another one reports nothing for it).
 */
export async function runScheduledBackups({
  db,
  now = new Date(),
  graceMs = SCHEDULE_GRACE_MS,
}: {
  db: Db;
  now?: Date;
  graceMs?: number;
}): Promise<ScheduleOutcome[]> {
  const outcomes: ScheduleOutcome[] = [];
  for (const environment of await db.select().from(environments).where(isNotNull(environments.scheduleCron))) {
    const slot = latestSlot(environment.scheduleCron!, now);
    if (!slot) {
      logger.warn(
        { environment: environmentLabel(environment), cron: environment.scheduleCron },
        "an environment's backup schedule is not a cron expression; it is ignored",
      );
      continue;
    }
    if (environment.scheduleLastSlot && environment.scheduleLastSlot.getTime() >= slot.getTime()) continue;
    const firstSight = environment.scheduleLastSlot === null;
    try {
      const claimed = await claimSlot(db, environment, slot);
      if (!claimed) continue;
      if (firstSight && now.getTime() - slot.getTime() > graceMs) {
        outcomes.push({ environmentId: environment.id, slot, outcome: "not_run" });
        continue;
      }
      outcomes.push(await startSlot(db, claimed, slot));
    } catch (err) {
      logger.error({ err, environment: environmentLabel(environment) }, "the scheduler failed for an environment");
    }
  }
  return outcomes;
}

/** Ticks now and every `intervalMs` (default 30 s) in the background; the returned function stops it. */
export function startBackupScheduler({ db, intervalMs = SCHEDULER_INTERVAL_MS }: { db: Db; intervalMs?: number }): () => void {
  return runPeriodically("backup scheduler", intervalMs, async () => void (await runScheduledBackups({ db })));
}
