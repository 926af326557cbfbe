"use client";

import { useRestoresQuery } from "@/components/hooks/use-restores";
import { Badge } from "@/components/ui/badge";
import { ProgressBar } from "@/components/ui/progress-bar";
import type { RestoreJson } from "@/lib/backups/restore";
import { formatBytes, formatDateTime } from "@/lib/format";

function RestoreStatus({ restore }: { restore: RestoreJson }) {
  if (restore.status === "queued" || restore.status === "running") {
    const { bytes, total_bytes: total } = restore.progress;
    const percent = total ? Math.min(100, Math.round((bytes / total) * 100)) : undefined;
    const amount = total ? `${formatBytes(bytes)} of ${formatBytes(total)}` : `${formatBytes(bytes)} so far`;
    return (
      <div className="min-w-48">
        <span className="text-sm">{restore.status === "queued" ? "Queued" : (restore.stage ?? "Running")}</span>
        <ProgressBar label={`Progress of the restore of ${restore.backup_id ?? "a deleted backup"}`} percent={percent} valueText={amount} className="h-1.5" />
        <span className="text-xs text-slate-500">{amount}</span>
      </div>
    );
  }
  if (restore.status === "failed") {
    return (
      <div className="max-w-md">
        <Badge tone="danger">Restore failed</Badge>
        {restore.status_reason && <p className="mt-1 break-words text-xs text-red-800">{restore.status_reason}</p>}
      </div>
    );
  }
  return <Badge tone="success">Restored</Badge>;
}

/**
 * The latest restores into this environment, with live progress while one
 * runs. Hidden until the environment has had a restore.
 */
export function RestoresPanel({ projectId, environment }: { projectId: string; environment: string }) {
  const query = useRestoresQuery(projectId, environment);
  const restores = query.data?.response ?? [];
  if (query.isError) {
    return (
      <p role="alert" className="rounded-md bg-red-50 p-3 text-sm text-red-800">
        Restores could not be loaded: {query.error.message}
      </p>
    );
  }
  if (restores.length === 0) return null;
  return (
    <section aria-labelledby="restores-heading" className="space-y-2">
      <h2 id="restores-heading" className="text-lg font-semibold">
        Restores into {projectId}-{environment}
      </h2>
      <ul className="divide-y divide-slate-100 rounded-lg border border-slate-200 bg-white" aria-label="Restores">
        {restores.map((restore) => (
          <li key={restore.id} className="flex flex-wrap items-start justify-between gap-4 px-4 py-3 text-sm">
            <div>
              <p>
                Restore of <span className="font-mono text-xs">{restore.backup_id ?? "a deleted backup"}</span>
              </p>
              <p className="text-xs text-slate-500">
                by {restore.created_by} · <time dateTime={restore.created_at}>{formatDateTime(restore.created_at)}</time>
              </p>
            </div>
            <RestoreStatus restore={restore} />
          </li>
        ))}
      </ul>
    </section>
  );
}
