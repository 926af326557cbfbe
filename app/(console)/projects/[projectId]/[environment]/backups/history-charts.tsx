"use client";

import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { ReactNode } from "react";

import type { BackupHistory } from "@/lib/backups/history";
import type { HistorySummary } from "@/lib/backups/history-summary";
import { formatBytes, formatDuration } from "@/lib/format";

/*
 * The three pictures of an environment's history, drawn by recharts as SVG:
 * how large each completed backup was, how long each took, and how many
 * completed and failed each day. Loaded only in the browser (see
 * ./backup-history.tsx); the words and the table beside them say the same.
 */

const COLORS = { database: "#2563eb", volume: "#9333ea", duration: "#0f766e", completed: "#16a34a", failed: "#dc2626" } as const;

const dayLabel = (ms: number) => new Date(ms).toLocaleDateString("en-GB", { day: "numeric", month: "short", timeZone: "UTC" });
const momentLabel = (ms: number) =>
  new Date(ms).toLocaleString("en-GB", { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: "UTC" }) + " UTC";

/** Ticks in one unit that suits the longest duration: "40 s", "2.5 min", "1.5 h" (the tooltip says it exactly). */
function durationTick(longest: number): (seconds: number) => string {
  const [divisor, unit] = longest >= 2 * 3600 ? [3600, "h"] : longest >= 120 ? [60, "min"] : [1, "s"];
  return (seconds) => `${Number((seconds / divisor).toFixed(1))} ${unit}`;
}

// The same titles frame the charts while they load (./backup-history.tsx).
const CHART_TITLES = ["Size of each completed backup", "How long each backup took", "Completed and failed backups per day (UTC)"] as const;

function Figure({ title, children }: { title: string; children: ReactNode }) {
  return (
    <figure className="rounded-lg border border-slate-200 bg-white p-4">
      <figcaption className="mb-2 text-sm font-medium text-slate-800">{title}</figcaption>
      {/* The pictures repeat the summary and the table for the eye; screen readers get those instead of SVG shapes. */}
      <div aria-hidden="true" className="h-56">
        {children}
      </div>
    </figure>
  );
}

export function HistoryCharts({ history, summary }: { history: BackupHistory; summary: HistorySummary }) {
  const completed = history.points
    .filter((p) => p.status === "completed")
    .map((p) => ({ t: Date.parse(p.created_at), database: p.database_bytes, volume: p.volume_bytes, duration: p.duration_seconds }));
  const domain = [Date.parse(history.from), Date.parse(history.to)];
  const timeAxis = (
    <XAxis dataKey="t" type="number" scale="time" domain={domain} tickFormatter={dayLabel} tick={{ fontSize: 12 }} minTickGap={24} allowDataOverflow />
  );
  const days = summary.days.map((d) => ({ ...d, label: dayLabel(Date.parse(d.day)) }));

  return (
    <div className="grid gap-4 lg:grid-cols-3">
      <Figure title={CHART_TITLES[0]}>
        <ResponsiveContainer width="100%" height="100%">
          <LineChart data={completed} title="Size of each completed backup" accessibilityLayer={false}>
            <CartesianGrid strokeDasharray="3 3" stroke="#e2e8f0" />
            {timeAxis}
            <YAxis tickFormatter={(v: number) => formatBytes(v)} tick={{ fontSize: 12 }} width={64} />
            <Tooltip labelFormatter={(v) => momentLabel(Number(v))} formatter={(v) => formatBytes(Number(v))} />
            <Legend />
            <Line type="linear" dataKey="database" name="Database (.gz)" stroke={COLORS.database} dot isAnimationActive={false} />
            <Line type="linear" dataKey="volume" name="Liferay (.tgz)" stroke={COLORS.volume} dot isAnimationActive={false} />
          </LineChart>
        </ResponsiveContainer>
      </Figure>
      <Figure title={CHART_TITLES[1]}>
        <ResponsiveContainer width="100%" height="100%">
          <LineChart data={completed} title="How long each backup took" accessibilityLayer={false}>
            <CartesianGrid strokeDasharray="3 3" stroke="#e2e8f0" />
            {timeAxis}
            <YAxis tickFormatter={durationTick(summary.longestDurationSeconds ?? 0)} tick={{ fontSize: 12 }} width={64} />
            <Tooltip labelFormatter={(v) => momentLabel(Number(v))} formatter={(v) => formatDuration(Number(v))} />
            <Legend />
            <Line type="linear" dataKey="duration" name="Duration" stroke={COLORS.duration} dot isAnimationActive={false} />
          </LineChart>
        </ResponsiveContainer>
      </Figure>
      <Figure title={CHART_TITLES[2]}>
        <ResponsiveContainer width="100%" height="100%">
          <BarChart data={days} title="Completed and failed backups per day" accessibilityLayer={false}>
            <CartesianGrid strokeDasharray="3 3" stroke="#e2e8f0" />
            <XAxis dataKey="label" tick={{ fontSize: 12 }} minTickGap={16} />
            <YAxis allowDecimals={false} tick={{ fontSize: 12 }} width={32} />
            <Tooltip />
            <Legend />
            <Bar dataKey="completed" name="Completed" stackId="day" fill={COLORS.completed} isAnimationActive={false} />
            <Bar dataKey="failed" name="Failed" stackId="day" fill={COLORS.failed} isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
      </Figure>
    </div>
  );
}
