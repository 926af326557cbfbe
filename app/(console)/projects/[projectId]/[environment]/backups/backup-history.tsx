"use client";

import dynamic from "next/dynamic";
import { useId, useState } from "react";

import { useBackupHistoryQuery } from "@/components/hooks/use-backup-history-query";
import { summarizeHistory } from "@/lib/backups/history-summary";
import type { HistorySummary } from "@/lib/backups/history-summary";
import { formatBytes, formatDateTime, formatDuration } from "@/lib/format";

/**
 * The charts' frames, empty, at their final size: shown while the history or the charting library loads, so the
 * list below never moves under the pointer (a ⋮ menu opened a moment too early would follow it off the screen).
 */
function ChartFrames({ note }: { note: string }) {
  return (
    <div className="grid gap-4 lg:grid-cols-3">
      {["Size of each completed backup", "How long each backup took", "Completed and failed backups per day (UTC)"].map((title) => (
        <figure key={title} className="rounded-lg border border-slate-200 bg-white p-4">
          <figcaption className="mb-2 text-sm font-medium text-slate-800">{title}</figcaption>
          <div className="flex h-56 items-center justify-center text-sm text-slate-400">{note}</div>
        </figure>
      ))}
    </div>
  );
}

// The charting library is loaded in the browser only, and only by the pages that draw charts.
const HistoryCharts = dynamic(() => import("./history-charts").then((m) => m.HistoryCharts), {
  ssr: false,
  loading: () => <ChartFrames note="Drawing…" />,
});

const PERIODS = [7, 30, 90, 366] as const;
const periodLabel = (days: number) => (days === 366 ? "the last year" : `the last ${days} days`);
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function summaryText(summary: HistorySummary, days: number): string {
  if (summary.total === 0) return `No backups in ${periodLabel(days)}.`;
  const parts = [`${plural(summary.total, "backup")} in ${periodLabel(days)}: ${summary.completed} completed, ${summary.failed} failed`];
  if (summary.unfinished > 0) parts[0] += `, ${summary.unfinished} still running or queued`;
  parts[0] += ".";
  const newest = summary.newestCompleted;
  if (newest) {
    parts.push(
      `The newest completed one (${formatDateTime(newest.created_at)}) has a ${formatBytes(newest.database_bytes)} database and a ${formatBytes(newest.volume_bytes)} document library and took ${formatDuration(newest.duration_seconds)}.`,
    );
  }
  if (summary.averageDurationSeconds !== null) {
    parts.push(
      `Completed backups took ${formatDuration(summary.averageDurationSeconds)} on average, ${formatDuration(summary.longestDurationSeconds)} at most.`,
    );
  }
  return parts.join(" ");
}

/**
 * The environment's history at a glance: a sentence that says it, three
 * charts that show it, and the numbers as a table for whoever wants them.
 */
export function BackupHistorySection({ projectId, environment }: { projectId: string; environment: string }) {
  const headingId = useId();
  const periodId = useId();
  const [days, setDays] = useState<number>(30);
  const query = useBackupHistoryQuery(projectId, environment, days);
  const history = query.data;
  const summary = history ? summarizeHistory(history) : null;

  return (
    <section aria-labelledby={headingId} className="space-y-3">
      <div className="flex flex-wrap items-end justify-between gap-4">
        <h2 id={headingId} className="text-lg font-semibold">
          History
        </h2>
        <div className="flex items-center gap-2">
          <label htmlFor={periodId} className="text-sm font-medium text-slate-700">
            Period
          </label>
          <select
            id={periodId}
            value={days}
            onChange={(event) => setDays(Number(event.target.value))}
            className="rounded-md border border-slate-300 bg-white px-2 py-1.5 text-sm"
          >
            {PERIODS.map((period) => (
              <option key={period} value={period}>
                {period === 366 ? "1 year" : `${period} days`}
              </option>
            ))}
          </select>
        </div>
      </div>
      {query.isError ? (
        <p role="alert" className="rounded-md bg-red-50 p-3 text-sm text-red-800">
          The history could not be loaded: {query.error.message}
        </p>
      ) : (
        <>
          {/* Two lines kept for the summary, as for the charts below: the page does not jump when they arrive. */}
          <p aria-label="History summary" role="note" aria-busy={!summary} className="min-h-10 text-sm text-slate-700">
            {summary ? summaryText(summary, days) : "Loading the history…"}
            {history?.truncated && " Only the newest 2,000 backups of the period are shown."}
          </p>
          {history && summary ? <HistoryCharts history={history} summary={summary} /> : <ChartFrames note="Loading…" />}
          <details className="rounded-lg border border-slate-200 bg-white p-3 text-sm">
            <summary className="cursor-pointer font-medium text-slate-700">The numbers behind the charts</summary>
            <div className="mt-2 max-h-80 overflow-auto">
              {history && history.points.length > 0 ? (
                <table className="w-full text-left">
                  <caption className="sr-only">Backups of {periodLabel(days)}, oldest first</caption>
                  <thead className="text-xs uppercase text-slate-600">
                    <tr>
                      <th scope="col" className="px-2 py-1">
                        Created
                      </th>
                      <th scope="col" className="px-2 py-1">
                        Status
                      </th>
                      <th scope="col" className="px-2 py-1 text-right">
                        Database
                      </th>
                      <th scope="col" className="px-2 py-1 text-right">
                        Volume
                      </th>
                      <th scope="col" className="px-2 py-1 text-right">
                        Duration
                      </th>
                    </tr>
                  </thead>
                  <tbody className="divide-y divide-slate-100">
                    {history.points.map((point) => (
                      <tr key={point.id}>
                        <th scope="row" className="px-2 py-1 font-normal">
                          <time dateTime={point.created_at}>{formatDateTime(point.created_at)}</time>
                        </th>
                        <td className="px-2 py-1">{point.status}</td>
                        <td className="px-2 py-1 text-right">{formatBytes(point.database_bytes)}</td>
                        <td className="px-2 py-1 text-right">{formatBytes(point.volume_bytes)}</td>
                        <td className="px-2 py-1 text-right">{formatDuration(point.duration_seconds)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              ) : (
                <p className="text-slate-500">{history ? "No backups in this period." : "Loading…"}</p>
              )}
            </div>
          </details>
        </>
      )}
    </section>
  );
}
