import { describe, expect, it } from "vitest";

import type { HistoryPoint } from "./history";
import { summarizeHistory } from "./history-summary";

const point = (created_at: string, status: HistoryPoint["status"], extra: Partial<HistoryPoint> = {}): HistoryPoint => ({
  id: `acme-x-${created_at}`,
  status,
  origin: "scheduled",
  created_at,
  duration_seconds: status === "completed" || status === "failed" ? 60 : null,
  database_bytes: status === "completed" ? 100 : null,
  volume_bytes: status === "completed" ? 300 : null,
  ...extra,
});

describe("summarizeHistory", () => {
  it("counts by status, finds the newest completed backup, averages durations and fills every day of the period", () => {
    const summary = summarizeHistory({
      from: "2026-11-27T12:00:00.000Z",
      to: "2026-11-30T12:00:00.000Z",
      points: [
        point("2026-11-27T13:00:00.000Z", "completed", { duration_seconds: 30, volume_bytes: 900 }),
        point("2026-11-28T03:00:00.000Z", "failed"),
        point("2026-11-28T09:00:00.000Z", "completed", { duration_seconds: 90 }),
        point("2026-11-30T11:00:00.000Z", "running"),
      ],
    });
    expect(summary).toMatchObject({
      total: 4,
      completed: 2,
      failed: 1,
      unfinished: 1,
      averageDurationSeconds: 60,
      longestDurationSeconds: 90,
      largestBytes: 1000,
    });
    expect(summary.newestCompleted?.created_at).toBe("2026-11-28T09:00:00.000Z");
    expect(summary.days).toEqual([
      { day: "2026-11-27", completed: 1, failed: 0 },
      { day: "2026-11-28", completed: 1, failed: 1 },
      { day: "2026-11-29", completed: 0, failed: 0 },
      { day: "2026-11-30", completed: 0, failed: 0 },
    ]);
  });

  it("says nothing it does not know for an empty period", () => {
    expect(summarizeHistory({ from: "2026-11-30T00:00:00.000Z", to: "2026-11-30T10:00:00.000Z", points: [] })).toMatchObject({
      total: 0,
      newestCompleted: null,
      averageDurationSeconds: null,
      largestBytes: null,
      days: [{ day: "2026-11-30", completed: 0, failed: 0 }],
    });
  });
});
