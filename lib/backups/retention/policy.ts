import type { Backup, Environment } from "@/lib/db/schema";

/*
 * Which backups an environment's retention rules keep, and why: pure, so the
 * retention sweep, the Backups page's "kept because" and the Settings
 * preview all decide alike.
 *
 * The rules, each optional:
 *
 * - The recent window, today's two settings: keep count N (the N newest
 *   completed backups) and keep days D (completed backups made in the last D
 *   days). Both set, a backup is in the window only when both keep it: "keep
 *   30, at most 14 days" (either rule deletes, as before these tiers existed).
 * - keep last N: the N newest completed backups, whatever their age.
 * - Grandfather-father-son tiers, as restic's and borg's --keep-hourly …
 *   --keep-yearly: keep N hourly keeps the newest backup of each of the last N
 *   hours that have one; likewise days, ISO weeks (Monday to Sunday), months
 *   and years. Periods are UTC, like the schedule and the backup ID. A
 *   backup may be kept by several tiers at once; each tier counts its own
 *   periods (restic's reading, not borg's "earlier rules use them up").
 *
 * A completed backup is kept when ANY of these keeps it, or when it is
 * pinned, or when it is the newest completed backup of the environment (an
 * environment is never left with nothing to restore); otherwise it expires.
 * With the window alone this is exactly the behaviour before the tiers: the
 * tiers and keep last only ever keep more. An environment with no rule at
 * all keeps everything.
 *
 * Failed backups hold no files and are not restore points: they go by age
 * alone, under keep days; no count or tier keeps or counts them. Queued and
 * running backups are never expired.
 */

export const GFS_TIERS = ["hourly", "daily", "weekly", "monthly", "yearly"] as const;
export type GfsTier = (typeof GFS_TIERS)[number];

export interface RetentionPolicy {
  keepCount: number | null;
  keepDays: number | null;
  keepLast?: number | null;
  keepHourly?: number | null;
  keepDaily?: number | null;
  keepWeekly?: number | null;
  keepMonthly?: number | null;
  keepYearly?: number | null;
}

/** The policy's field of each tier. */
export const TIER_FIELDS = {
  hourly: "keepHourly",
  daily: "keepDaily",
  weekly: "keepWeekly",
  monthly: "keepMonthly",
  yearly: "keepYearly",
} as const satisfies Record<GfsTier, keyof RetentionPolicy>;

/** Why a backup is kept. `no_rules`: the environment has no retention rule, so nothing is deleted. */
export type KeepRule = "newest" | "pinned" | "keep_count" | "keep_days" | "keep_last" | GfsTier | "no_rules";

export interface KeepReason {
  rule: KeepRule;
  /** For people: "newest", "pinned", "last 7", "daily · 2026-11-29", "monthly · 2026-11". */
  label: string;
  /** A tier's period (UTC): `2026-11-29 14:00`, `2026-11-29`, `2026-W48`, `2026-11`, `2026`. */
  period?: string;
}

/**
 * Why a backup expires: outside keep count, outside keep days (the rule named
 * first when both are), or — with no window set — kept by none of the rules.
 */
export type RetentionRule = "keep_count" | "keep_days" | "keep_rules";

export type RetentionCandidate = Pick<Backup, "id" | "status" | "createdAt"> & { pinned?: boolean };

export interface RetentionVerdict {
  id: string;
  keptBy: KeepReason[];
  /** Set when the rules no longer keep it: the next retention run deletes it (unless something uses it then). */
  expires: RetentionRule | null;
}

const DAY_MS = 24 * 60 * 60 * 1000;

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** The UTC period a moment falls in, as its tier names it (the names sort in time order). */
export function periodOf(tier: GfsTier, at: Date): string {
  const year = at.getUTCFullYear();
  const month = `${year}-${pad(at.getUTCMonth() + 1)}`;
  const day = `${month}-${pad(at.getUTCDate())}`;
  switch (tier) {
    case "hourly":
      return `${day} ${pad(at.getUTCHours())}:00`;
    case "daily":
      return day;
    case "weekly": {
      // ISO 8601: weeks start on Monday and belong to the year that holds their Thursday.
      const midnight = Date.UTC(year, at.getUTCMonth(), at.getUTCDate());
      const weekday = (at.getUTCDay() + 6) % 7;
      const thursday = new Date(midnight + (3 - weekday) * DAY_MS);
      const isoYear = thursday.getUTCFullYear();
      const week = Math.floor((thursday.getTime() - Date.UTC(isoYear, 0, 1)) / (7 * DAY_MS)) + 1;
      return `${String(isoYear).padStart(4, "0")}-W${pad(week)}`;
    }
    case "monthly":
      return month;
    case "yearly":
      return String(year);
  }
}

/** Newest first, as the Backups page lists them: created_at, then ID. */
export function newestFirst(a: Pick<RetentionCandidate, "id" | "createdAt">, b: Pick<RetentionCandidate, "id" | "createdAt">): number {
  return b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/** The environment's stored policy. */
export function policyOf(environment: Environment): Required<RetentionPolicy> {
  return {
    keepCount: environment.retentionKeepCount,
    keepDays: environment.retentionDays,
    keepLast: environment.retentionKeepLast,
    keepHourly: environment.retentionKeepHourly,
    keepDaily: environment.retentionKeepDaily,
    keepWeekly: environment.retentionKeepWeekly,
    keepMonthly: environment.retentionKeepMonthly,
    keepYearly: environment.retentionKeepYearly,
  };
}

/** Whether any rule is set: without one, retention leaves the environment alone. */
export function hasRetentionRule(policy: RetentionPolicy): boolean {
  return Object.values(policy).some((value) => value !== null && value !== undefined);
}

/**
 * Every candidate's verdict: what keeps it, or the rule under which it
 * expires. What else uses a backup (a restore reading it, a lock) is checked
 * when it is deleted, not here.
 */
export function judgeBackups(candidates: readonly RetentionCandidate[], policy: RetentionPolicy, now: Date): Map<string, RetentionVerdict> {
  const verdicts = new Map<string, RetentionVerdict>();
  const anyRule = hasRetentionRule(policy);
  const keepCount = policy.keepCount ?? null;
  const keepDays = policy.keepDays ?? null;
  const keepLast = policy.keepLast ?? null;
  const windowSet = keepCount !== null || keepDays !== null;
  const cutoff = keepDays === null ? null : now.getTime() - keepDays * DAY_MS;
  const tooOld = (b: RetentionCandidate) => cutoff !== null && b.createdAt.getTime() < cutoff;
  const tiers = GFS_TIERS.flatMap((tier) => {
    const count = policy[TIER_FIELDS[tier]] ?? null;
    return count === null ? [] : [{ tier, count, kept: 0, lastPeriod: null as string | null }];
  });

  const completed = candidates.filter((b) => b.status === "completed").sort(newestFirst);
  completed.forEach((backup, index) => {
    const keptBy: KeepReason[] = [];
    if (index === 0) keptBy.push({ rule: "newest", label: "newest" });
    if (backup.pinned) keptBy.push({ rule: "pinned", label: "pinned" });
    const inCount = keepCount === null || index < keepCount;
    if (windowSet && inCount && !tooOld(backup)) {
      if (keepCount !== null) keptBy.push({ rule: "keep_count", label: `keep count ${keepCount}` });
      if (keepDays !== null) keptBy.push({ rule: "keep_days", label: `within ${keepDays} ${keepDays === 1 ? "day" : "days"}` });
    }
    if (keepLast !== null && index < keepLast) keptBy.push({ rule: "keep_last", label: `last ${keepLast}` });
    for (const state of tiers) {
      // Newest first, so the first backup met in a period is that period's newest.
      const period = periodOf(state.tier, backup.createdAt);
      if (period === state.lastPeriod) continue;
      state.lastPeriod = period;
      if (state.kept >= state.count) continue;
      state.kept++;
      keptBy.push({ rule: state.tier, label: `${state.tier} · ${period}`, period });
    }
    let expires: RetentionRule | null = null;
    if (keptBy.length === 0) {
      if (!anyRule) keptBy.push({ rule: "no_rules", label: "no retention rules" });
      else expires = !windowSet ? "keep_rules" : keepCount !== null && !inCount ? "keep_count" : "keep_days";
    }
    verdicts.set(backup.id, { id: backup.id, keptBy, expires });
  });

  for (const backup of candidates) {
    if (backup.status === "completed") continue;
    const pinned = Boolean(backup.pinned);
    const expires = backup.status === "failed" && !pinned && tooOld(backup) ? "keep_days" : null;
    verdicts.set(backup.id, { id: backup.id, keptBy: pinned ? [{ rule: "pinned", label: "pinned" }] : [], expires });
  }
  return verdicts;
}

/**
 * Which backups the policy expires, each with the rule that does: completed
 * ones newest first, then failed ones. Never the newest completed backup, a
 * pinned one, nor a queued or running one.
 */
export function expiredBackups(candidates: readonly RetentionCandidate[], policy: RetentionPolicy, now: Date): { id: string; rule: RetentionRule }[] {
  const verdicts = judgeBackups(candidates, policy, now);
  const order = [...candidates.filter((b) => b.status === "completed").sort(newestFirst), ...candidates.filter((b) => b.status !== "completed")];
  return order.flatMap((b) => {
    const rule = verdicts.get(b.id)?.expires;
    return rule ? [{ id: b.id, rule }] : [];
  });
}
