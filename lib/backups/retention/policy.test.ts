import fc from "fast-check";
import { describe, expect, it } from "vitest";

import type { Backup } from "@/lib/db/schema";

import { expiredBackups, GFS_TIERS, judgeBackups, newestFirst, periodOf, TIER_FIELDS } from "./policy";
import type { GfsTier, RetentionCandidate, RetentionPolicy } from "./policy";

/*
 * The retention arithmetic: keep-last, the grandfather-father-son tiers,
 * pins and the newest completed backup, against hand-worked cases and, with
 * fast-check, against a naive restatement of each rule over random
 * histories. Runs are seeded: FC_SEED=<seed> replays a failure.
 */

const SEED = Number(process.env.FC_SEED ?? 20261130);
const RUNS = Number(process.env.FC_RUNS ?? 300);
const params = { seed: SEED, numRuns: RUNS, endOnFailure: false };

const NOW = new Date("2026-11-30T12:00:00.000Z");
const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;
const NO_RULES: RetentionPolicy = { keepCount: null, keepDays: null };

const at = (id: string, iso: string, status: Backup["status"] = "completed", pinned = false): RetentionCandidate => ({
  id,
  status,
  createdAt: new Date(iso),
  pinned,
});

const kept = (candidates: RetentionCandidate[], policy: RetentionPolicy) => {
  const expired = new Set(expiredBackups(candidates, policy, NOW).map((e) => e.id));
  return candidates
    .filter((c) => !expired.has(c.id))
    .map((c) => c.id)
    .sort();
};

const labels = (candidates: RetentionCandidate[], policy: RetentionPolicy) =>
  Object.fromEntries(
    [...judgeBackups(candidates, policy, NOW).values()].map((v) => [v.id, v.expires ? `expires:${v.expires}` : v.keptBy.map((r) => r.label).join(" · ")]),
  );

describe("periods (UTC)", () => {
  it("names hours, days, ISO weeks, months and years", () => {
    const moment = new Date("2026-11-29T14:59:59.999Z");
    expect(GFS_TIERS.map((tier) => periodOf(tier, moment))).toEqual(["2026-11-29 14:00", "2026-11-29", "2026-W48", "2026-11", "2026"]);
  });

  it("puts ISO weeks in the year of their Thursday, Monday to Sunday", () => {
    // 2026-01-01 is a Thursday: that week is 2026-W01 and starts on Monday 2025-12-29.
    expect(periodOf("weekly", new Date("2025-12-29T00:00:00Z"))).toBe("2026-W01");
    expect(periodOf("weekly", new Date("2025-12-28T23:59:59Z"))).toBe("2025-W52");
    // 2027-01-01 is a Friday: it still belongs to 2026's last week, which has 53.
    expect(periodOf("weekly", new Date("2027-01-01T10:00:00Z"))).toBe("2026-W53");
    expect(periodOf("weekly", new Date("2027-01-04T00:00:00Z"))).toBe("2027-W01");
  });

  it("a week changes exactly at Monday 00:00 UTC, whatever the day", () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2090, 0, 1) }), (ms) => {
        const monday = new Date(ms - ((new Date(ms).getUTCDay() + 6) % 7) * DAY);
        const start = Date.UTC(monday.getUTCFullYear(), monday.getUTCMonth(), monday.getUTCDate());
        const week = periodOf("weekly", new Date(ms));
        expect(periodOf("weekly", new Date(start))).toBe(week);
        expect(periodOf("weekly", new Date(start + 7 * DAY - 1))).toBe(week);
        expect(periodOf("weekly", new Date(start - 1))).not.toBe(week);
        // The year of the week is the year of its Thursday.
        expect(week.slice(0, 4)).toBe(String(new Date(start + 3 * DAY).getUTCFullYear()));
      }),
      params,
    );
  });
});

describe("judging backups by hand-worked cases", () => {
  it("keep last N keeps the N newest completed, whatever their age", () => {
    const list = [at("a", "2026-11-30T03:00Z"), at("b", "2026-11-29T03:00Z"), at("c", "2025-01-01T03:00Z"), at("d", "2020-01-01T03:00Z")];
    expect(kept(list, { ...NO_RULES, keepLast: 3 })).toEqual(["a", "b", "c"]);
    expect(labels(list, { ...NO_RULES, keepLast: 3 })).toEqual({ a: "newest · last 3", b: "last 3", c: "last 3", d: "expires:keep_rules" });
  });

  it("daily keeps the newest backup of each of the last N days that have one, and says which day", () => {
    const list = [
      at("d30-late", "2026-11-30T11:00Z"),
      at("d30-early", "2026-11-30T01:00Z"),
      at("d29", "2026-11-29T23:59Z"),
      // No backup on the 28th: the third day kept is the 27th.
      at("d27-late", "2026-11-27T18:00Z"),
      at("d27-early", "2026-11-27T06:00Z"),
      at("d26", "2026-11-26T06:00Z"),
    ];
    expect(labels(list, { ...NO_RULES, keepDaily: 3 })).toEqual({
      "d30-late": "newest · daily · 2026-11-30",
      "d30-early": "expires:keep_rules",
      d29: "daily · 2026-11-29",
      "d27-late": "daily · 2026-11-27",
      "d27-early": "expires:keep_rules",
      d26: "expires:keep_rules",
    });
  });

  it("the tiers together: one backup per hour, day, week, month and year, each tier counting its own periods", () => {
    const list = [
      at("now", "2026-11-30T11:30Z"),
      at("hour-before", "2026-11-30T10:10Z"),
      at("yesterday", "2026-11-29T09:00Z"),
      at("last-week", "2026-11-20T09:00Z"),
      at("october", "2026-10-15T09:00Z"),
      at("last-year", "2025-06-01T09:00Z"),
      at("ancient", "2019-06-01T09:00Z"),
    ];
    const policy = { ...NO_RULES, keepHourly: 2, keepDaily: 2, keepWeekly: 2, keepMonthly: 2, keepYearly: 2 };
    expect(labels(list, policy)).toEqual({
      now: "newest · hourly · 2026-11-30 11:00 · daily · 2026-11-30 · weekly · 2026-W49 · monthly · 2026-11 · yearly · 2026",
      "hour-before": "hourly · 2026-11-30 10:00",
      yesterday: "daily · 2026-11-29 · weekly · 2026-W48",
      "last-week": "expires:keep_rules",
      october: "monthly · 2026-10",
      "last-year": "yearly · 2025",
      ancient: "expires:keep_rules",
    });
  });

  it("the tiers keep what the window (keep count, keep days) lets go, and the window keeps as before", () => {
    const list = [at("a", "2026-11-30T03:00Z"), at("b", "2026-11-29T03:00Z"), at("c", "2026-11-20T03:00Z"), at("d", "2026-10-20T03:00Z")];
    const policy = { keepCount: 2, keepDays: 5, keepMonthly: 3 };
    expect(labels(list, policy)).toEqual({
      a: "newest · keep count 2 · within 5 days · monthly · 2026-11",
      b: "keep count 2 · within 5 days",
      c: "expires:keep_count",
      d: "monthly · 2026-10",
    });
  });

  it("a pinned backup is kept by its pin; with no rule at all everything is kept", () => {
    const list = [at("a", "2026-11-30T03:00Z"), at("b", "2026-01-01T03:00Z", "completed", true), at("c", "2025-01-01T03:00Z")];
    expect(labels(list, { ...NO_RULES, keepLast: 1 })).toEqual({ a: "newest · last 1", b: "pinned", c: "expires:keep_rules" });
    expect(labels(list, NO_RULES)).toEqual({ a: "newest", b: "pinned", c: "no retention rules" });
  });

  it("failed backups go by keep days only; the tiers neither keep nor count them", () => {
    const list = [
      at("ok", "2026-11-30T03:00Z"),
      at("failed-today", "2026-11-30T04:00Z", "failed"),
      at("failed-old", "2026-11-01T04:00Z", "failed"),
      at("ok-old", "2026-11-01T03:00Z"),
    ];
    expect(labels(list, { ...NO_RULES, keepDaily: 1 })).toMatchObject({ "failed-today": "", "failed-old": "", "ok-old": "expires:keep_rules" });
    expect(labels(list, { keepCount: null, keepDays: 10, keepDaily: 40 })).toMatchObject({
      "failed-today": "",
      "failed-old": "expires:keep_days",
      "ok-old": "daily · 2026-11-01",
    });
  });
});

// -------------------------------------------------------------- properties

/** A history: backups at random minutes over about three years before NOW, some failed, queued or pinned. */
const history = fc
  .uniqueArray(
    fc.record({
      minutesAgo: fc.integer({ min: 0, max: 3 * 366 * 24 * 60 }),
      status: fc.constantFrom<Backup["status"]>("completed", "completed", "completed", "completed", "failed", "queued", "running"),
      // About one in ten is pinned.
      pinned: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
    }),
    { minLength: 0, maxLength: 60, selector: (b) => b.minutesAgo },
  )
  .map((rows) =>
    rows.map((row, i): RetentionCandidate => ({
      id: `acme-b${String(i).padStart(3, "0")}-x`,
      status: row.status,
      createdAt: new Date(NOW.getTime() - row.minutesAgo * 60_000),
      pinned: row.status === "completed" && row.pinned,
    })),
  );

// Each rule is off half of the time, so every combination (the window alone, say) comes up.
const count = fc.option(fc.integer({ min: 1, max: 12 }), { nil: null, freq: 2 });
const policies = fc.record({
  keepCount: count,
  keepDays: fc.option(fc.integer({ min: 1, max: 800 }), { nil: null, freq: 2 }),
  keepLast: count,
  keepHourly: count,
  keepDaily: count,
  keepWeekly: count,
  keepMonthly: count,
  keepYearly: count,
});

/** Some policies of the window alone (keep count, keep days), where nothing but the rule for the newest backup keeps an old one. */
const anyPolicy = fc.oneof(
  policies,
  policies.map((p) => ({ ...p, keepLast: null, keepHourly: null, keepDaily: null, keepWeekly: null, keepMonthly: null, keepYearly: null })),
);

/** The newest backup of each of the tier's N newest periods, said the long way round. */
function naiveTier(completed: RetentionCandidate[], tier: GfsTier, n: number): Set<string> {
  const byPeriod = new Map<string, RetentionCandidate[]>();
  for (const b of completed) byPeriod.set(periodOf(tier, b.createdAt), [...(byPeriod.get(periodOf(tier, b.createdAt)) ?? []), b]);
  const periods = [...byPeriod.keys()].sort().reverse().slice(0, n);
  return new Set(periods.map((p) => byPeriod.get(p)!.sort(newestFirst)[0]!.id));
}

describe("judging backups, as properties", () => {
  it("never expires the newest completed backup, a pinned one, or a queued or running one", () => {
    fc.assert(
      fc.property(history, anyPolicy, (list, policy) => {
        const expired = new Set(expiredBackups(list, policy, NOW).map((e) => e.id));
        const newest = list.filter((b) => b.status === "completed").sort(newestFirst)[0];
        if (newest) expect(expired.has(newest.id)).toBe(false);
        for (const b of list) {
          if (b.pinned || b.status === "queued" || b.status === "running") expect(expired.has(b.id), `${b.id} (${b.status})`).toBe(false);
        }
      }),
      params,
    );
  });

  it("keep last N alone keeps exactly the N newest completed backups (and the pinned ones)", () => {
    fc.assert(
      fc.property(history, fc.integer({ min: 1, max: 70 }), (list, n) => {
        const completed = list.filter((b) => b.status === "completed").sort(newestFirst);
        const expected = new Set([...completed.slice(0, n), ...completed.filter((b) => b.pinned)].map((b) => b.id));
        const verdicts = judgeBackups(list, { ...NO_RULES, keepLast: n }, NOW);
        for (const b of completed) expect(verdicts.get(b.id)!.expires === null, b.id).toBe(expected.has(b.id));
      }),
      params,
    );
  });

  it("each tier keeps the newest backup of each of its N newest periods that have one, and names the period", () => {
    fc.assert(
      fc.property(history, fc.constantFrom(...GFS_TIERS), fc.integer({ min: 1, max: 40 }), (list, tier, n) => {
        const completed = list.filter((b) => b.status === "completed");
        const expected = naiveTier(completed, tier, n);
        const verdicts = judgeBackups(list, { ...NO_RULES, [TIER_FIELDS[tier]]: n }, NOW);
        for (const b of completed) {
          const reason = verdicts.get(b.id)!.keptBy.find((r) => r.rule === tier);
          expect(Boolean(reason), `${tier} ${n}: ${b.id} at ${b.createdAt.toISOString()}`).toBe(expected.has(b.id));
          if (reason) expect(reason).toEqual({ rule: tier, label: `${tier} · ${periodOf(tier, b.createdAt)}`, period: periodOf(tier, b.createdAt) });
        }
      }),
      params,
    );
  });

  it("a completed backup is kept exactly when one of the rules, its pin or being the newest keeps it", () => {
    fc.assert(
      fc.property(history, anyPolicy, (list, policy) => {
        const completed = list.filter((b) => b.status === "completed").sort(newestFirst);
        const cutoff = policy.keepDays === null ? null : NOW.getTime() - policy.keepDays * DAY;
        const windowSet = policy.keepCount !== null || policy.keepDays !== null;
        const tiers = GFS_TIERS.filter((t) => policy[TIER_FIELDS[t]] !== null).map((t) => naiveTier(completed, t, policy[TIER_FIELDS[t]]!));
        const anyRule = Object.values(policy).some((v) => v !== null);
        const verdicts = judgeBackups(list, policy, NOW);
        completed.forEach((b, i) => {
          const inWindow = windowSet && (policy.keepCount === null || i < policy.keepCount) && (cutoff === null || b.createdAt.getTime() >= cutoff);
          const keep =
            !anyRule || i === 0 || Boolean(b.pinned) || inWindow || (policy.keepLast !== null && i < policy.keepLast) || tiers.some((t) => t.has(b.id));
          expect(verdicts.get(b.id)!.expires === null, b.id).toBe(keep);
          expect(verdicts.get(b.id)!.keptBy.length > 0, b.id).toBe(keep);
        });
      }),
      params,
    );
  });

  it("raising any keep number, or adding a rule beside another, never deletes more", () => {
    fc.assert(
      fc.property(
        history,
        policies,
        fc.constantFrom("keepLast", ...Object.values(TIER_FIELDS)),
        fc.integer({ min: 1, max: 5 }),
        (list, policy, field, more) => {
          // A rule beside the window only keeps more; the window's own count and days are limits, left as they are.
          if (!Object.values(policy).some((v) => v !== null)) return;
          const before = new Set(expiredBackups(list, policy, NOW).map((e) => e.id));
          const raised = { ...policy, [field]: (policy[field as keyof typeof policy] ?? 0) + more };
          for (const e of expiredBackups(list, raised, NOW)) expect(before.has(e.id), `${e.id} after raising ${field}`).toBe(true);
        },
      ),
      params,
    );
  });

  it("with keep count and keep days alone, expires exactly what retention expired before the tiers", () => {
    fc.assert(
      fc.property(history, policies, (list, { keepCount, keepDays }) => {
        const unpinned = list.map((b) => ({ ...b, pinned: false }));
        const ids = (es: { id: string; rule: string }[]) => es.map((e) => `${e.id}:${e.rule}`).sort();
        expect(ids(expiredBackups(unpinned, { keepCount, keepDays }, NOW))).toEqual(ids(expiredBeforeTheTiers(unpinned, { keepCount, keepDays }, NOW)));
      }),
      params,
    );
  });
});

/** Retention's judgement before keep-last, the tiers and pins (main at dbaf9eb), word for word. */
function expiredBeforeTheTiers(candidates: readonly RetentionCandidate[], policy: { keepCount: number | null; keepDays: number | null }, now: Date) {
  const cutoff = policy.keepDays === null ? null : now.getTime() - policy.keepDays * DAY;
  const tooOld = (b: RetentionCandidate) => cutoff !== null && b.createdAt.getTime() < cutoff;
  const expired: { id: string; rule: string }[] = [];
  const completed = candidates.filter((b) => b.status === "completed").sort(newestFirst);
  completed.forEach((backup, index) => {
    if (index === 0) return;
    if (policy.keepCount !== null && index >= policy.keepCount) expired.push({ id: backup.id, rule: "keep_count" });
    else if (tooOld(backup)) expired.push({ id: backup.id, rule: "keep_days" });
  });
  for (const backup of candidates) if (backup.status === "failed" && tooOld(backup)) expired.push({ id: backup.id, rule: "keep_days" });
  return expired;
}
