import type { BackupHistory, HistoryPoint } from "./history";

/*
 * What the charts on the Backups page say in words, for the summary beside
 * them and for people who do not see them: counts, the newest completed
 * backup, durations, and each UTC day's completed and failed backups.
 */

export interface HistoryDay {
  /** UTC, `2026-11-29`. */
  day: string;
  completed: number;
  failed: number;
}

export interface HistorySummary {
  total: number;
  completed: number;
  failed: number;
  /** Queued or running now. */
  unfinished: number;
  newestCompleted: HistoryPoint | null;
  averageDurationSeconds: number | null;
  longestDurationSeconds: number | null;
  largestBytes: number | null;
  /** Every UTC day of the period, oldest first, empty ones included. */
  days: HistoryDay[];
}

const DAY_MS = 24 * 60 * 60 * 1000;

export function summarizeHistory(history: Pick<BackupHistory, "from" | "to" | "points">): HistorySummary {
  const completed = history.points.filter((p) => p.status === "completed");
  const durations = completed.map((p) => p.duration_seconds).filter((d): d is number => d !== null);
  const sizes = completed.map((p) => (p.database_bytes ?? 0) + (p.volume_bytes ?? 0));
  const days = new Map<string, HistoryDay>();
  const first = Date.parse(history.from.slice(0, 10));
  for (let t = first; t <= Date.parse(history.to); t += DAY_MS) {
    const day = new Date(t).toISOString().slice(0, 10);
    days.set(day, { day, completed: 0, failed: 0 });
  }
  for (const point of history.points) {
    const day = days.get(point.created_at.slice(0, 10));
    if (day && point.status === "completed") day.completed++;
    if (day && point.status === "failed") day.failed++;
  }
  return {
    total: history.points.length,
    completed: completed.length,
    failed: history.points.filter((p) => p.status === "failed").length,
    unfinished: history.points.filter((p) => p.status === "queued" || p.status === "running").length,
    newestCompleted: completed.at(-1) ?? null,
    averageDurationSeconds: durations.length > 0 ? durations.reduce((a, b) => a + b, 0) / durations.length : null,
    longestDurationSeconds: durations.length > 0 ? Math.max(...durations) : null,
    largestBytes: sizes.length > 0 ? Math.max(...sizes) : null,
    days: [...days.values()],
  };
}
