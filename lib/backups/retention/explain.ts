import { and, desc, eq, sql } from "drizzle-orm";

import type { Db } from "@/lib/db/client";
import { backups } from "@/lib/db/schema";
import type { Backup, Environment } from "@/lib/db/schema";

import { GFS_TIERS, hasRetentionRule, judgeBackups, newestFirst, policyOf, TIER_FIELDS } from "./policy";
import type { KeepReason, RetentionCandidate, RetentionPolicy, RetentionRule, RetentionVerdict } from "./policy";
import { retentionCandidates } from "./retention";

/*
 * Retention explained to people: why each listed backup is kept (the
 * Backups page), and what a proposed policy would delete (the Settings
 * preview). Both use ./policy.ts, the sweep's own judgement.
 */

/** A backup's retention, as the list API answers it. */
export interface BackupRetentionJson {
  kept_by: KeepReason[];
  /** The rule under which the next retention run deletes it; null while the rules keep it. */
  expires: RetentionRule | null;
}

export function toRetentionJson(verdict: RetentionVerdict | undefined): BackupRetentionJson {
  return { kept_by: verdict?.keptBy ?? [], expires: verdict?.expires ?? null };
}

type Listed = Pick<Backup, "id" | "status" | "createdAt" | "pinned">;

/**
 * The verdicts of one page of the list. A completed backup's verdict depends
 * only on the completed backups newer than it (its rank, the periods above
 * it) and on the time, so only those are read. Without tiers that is the
 * newest keep count / keep last of them (one, with no rule: the newest);
 * with tiers every completed backup from the page up — a few rows for the
 * first page, and for a deep one no more than the rules keep, since
 * retention keeps an environment down to that.
 */
export async function retentionOfPage(db: Db, environment: Environment, items: readonly Listed[], now = new Date()): Promise<Map<string, RetentionVerdict>> {
  if (items.length === 0) return new Map();
  const policy = policyOf(environment);
  const oldest = items.toSorted(newestFirst).at(-1)!;
  // `status::text`: the (environment, status) index must not be chosen over the (environment, created_at, id) one, which
  // reads these newest first and stops; without statistics (PGlite never analyzes) the planner would otherwise sort them all.
  const completed = and(eq(backups.environmentId, environment.id), sql`${backups.status}::text = 'completed'`);
  const columns = { id: backups.id, status: backups.status, createdAt: backups.createdAt, pinned: backups.pinned };
  // The index's own order (environment first), so reading it backwards needs no sort, and the planner sees that.
  const newestFirstOrder = [desc(backups.environmentId), desc(backups.createdAt), desc(backups.id)];
  const tiers = GFS_TIERS.some((tier) => policy[TIER_FIELDS[tier]] !== null);
  let above: RetentionCandidate[];
  if (tiers) {
    // A tier's periods above an item decide it: read every completed backup from the page up.
    above = await db
      .select(columns)
      .from(backups)
      .where(and(completed, sql`(${backups.createdAt}, ${backups.id}) >= (${oldest.createdAt.toISOString()}::timestamptz, ${oldest.id})`))
      .orderBy(...newestFirstOrder);
  } else {
    // Without tiers only an item's rank matters, and only up to the largest count: the newest that many decide it.
    const reach = Math.max(1, hasRetentionRule(policy) ? Math.max(policy.keepCount ?? 0, policy.keepLast ?? 0) : 1);
    above = await db
      .select(columns)
      .from(backups)
      .where(completed)
      .orderBy(...newestFirstOrder)
      .limit(reach);
  }
  const candidates = new Map<string, RetentionCandidate>(above.map((b) => [b.id, b]));
  for (const item of items) if (!candidates.has(item.id)) candidates.set(item.id, item);
  return judgeBackups([...candidates.values()], policy, now);
}

/** The settings' retention fields and the policy's names for them. */
export const RETENTION_SETTINGS = {
  retentionKeepCount: "keepCount",
  retentionDays: "keepDays",
  retentionKeepLast: "keepLast",
  retentionKeepHourly: "keepHourly",
  retentionKeepDaily: "keepDaily",
  retentionKeepWeekly: "keepWeekly",
  retentionKeepMonthly: "keepMonthly",
  retentionKeepYearly: "keepYearly",
} as const satisfies Record<string, keyof RetentionPolicy>;

export type RetentionSettings = { [K in keyof typeof RETENTION_SETTINGS]?: number | null };

export interface RetentionPreview {
  /** The policy judged: the proposal, with the stored value of every field it leaves out. */
  policy: RetentionSettings;
  /** How many backups the policy would delete, and the oldest of them first (at most `limit`). */
  delete_count: number;
  deletes: { id: string; status: Backup["status"]; created_at: string; rule: RetentionRule }[];
  /** How many finished backups it keeps. */
  keep_count: number;
}

/**
 * What the sweep would delete under a proposed policy, now: the Settings
 * page's preview before anything is saved. Backups in use at the time of
 * the sweep are skipped then, which a preview cannot know.
 */
export async function previewRetention(
  db: Db,
  { environment, proposed, now = new Date(), limit = 200 }: { environment: Environment; proposed: RetentionSettings; now?: Date; limit?: number },
): Promise<RetentionPreview> {
  const stored = policyOf(environment);
  const settings = Object.fromEntries(
    (Object.keys(RETENTION_SETTINGS) as (keyof typeof RETENTION_SETTINGS)[]).map((field) => [
      field,
      proposed[field] !== undefined ? proposed[field] : stored[RETENTION_SETTINGS[field]],
    ]),
  ) as Required<RetentionSettings>;
  const policy = Object.fromEntries(
    Object.entries(RETENTION_SETTINGS).map(([field, name]) => [name, settings[field as keyof RetentionSettings]]),
  ) as Required<RetentionPolicy>;
  const candidates = await retentionCandidates(db, environment.id);
  const verdicts = judgeBackups(candidates, policy, now);
  const expired = candidates.filter((b) => verdicts.get(b.id)?.expires).sort((a, b) => -newestFirst(a, b));
  return {
    policy: settings,
    delete_count: expired.length,
    deletes: expired.slice(0, limit).map((b) => ({ id: b.id, status: b.status, created_at: b.createdAt.toISOString(), rule: verdicts.get(b.id)!.expires! })),
    keep_count: candidates.length - expired.length,
  };
}
