"use client";

import { useId, useRef, useState } from "react";

import type { BackupFilters } from "@/components/hooks/use-backups-query";
import { useBackupsQuery } from "@/components/hooks/use-backups-query";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { ProgressBar } from "@/components/ui/progress-bar";
import type { BackupJson } from "@/lib/backups/serialize";
import { formatBytes, formatDateTime } from "@/lib/format";

import { BackupActionsMenu } from "./backup-actions-menu";
import type { RestoreTarget } from "./restore-dialog";

const STATUSES = ["queued", "running", "completed", "failed"] as const;
const ORIGINS = ["scheduled", "manual", "uploaded", "imported"] as const;

const capitalize = (value: string) => value.charAt(0).toUpperCase() + value.slice(1);

function fileSize(backup: BackupJson, kind: "database" | "volume"): number | null {
  return backup.files.find((f) => f.kind === kind)?.size ?? null;
}

function StatusCell({ backup }: { backup: BackupJson }) {
  if (backup.status === "running" || backup.status === "queued") {
    const { bytes, total_bytes: total } = backup.progress;
    const percent = total ? Math.min(100, Math.round((bytes / total) * 100)) : undefined;
    return (
      <div className="min-w-40">
        <span className="text-sm">{backup.status === "queued" ? "Queued" : "Running"}</span>
        <ProgressBar
          label={`Progress of ${backup.id}`}
          percent={percent}
          valueText={total ? `${formatBytes(bytes)} of ${formatBytes(total)}` : `${formatBytes(bytes)} so far`}
          className="h-1.5"
        />
        <span className="text-xs text-slate-500">{total ? `${formatBytes(bytes)} of ${formatBytes(total)}` : formatBytes(bytes)}</span>
      </div>
    );
  }
  if (backup.status === "failed") {
    return (
      <div className="max-w-xs">
        <Badge tone="danger">Failed</Badge>
        {backup.status_reason && <p className="mt-1 break-words text-xs text-red-800">{backup.status_reason}</p>}
      </div>
    );
  }
  return (
    <div>
      <Badge tone="success">Completed</Badge>
      {backup.verify_status === "warning" && backup.verify_result && <p className="mt-1 max-w-xs text-xs text-amber-800">Warning: {backup.verify_result}</p>}
    </div>
  );
}

const EXPIRES: Record<NonNullable<NonNullable<BackupJson["retention"]>["expires"]>, string> = {
  keep_count: "outside keep count",
  keep_days: "older than keep days",
  keep_rules: "no rule keeps it",
};

/** Why retention keeps the backup ("newest · daily · 2026-11-29"), or that its next run deletes it. */
function RetentionCell({ backup }: { backup: BackupJson }) {
  const retention = backup.retention;
  if (!retention) return <span className="text-slate-400">—</span>;
  if (retention.expires) {
    return <span className="text-xs text-amber-800">Deleted by the next retention run ({EXPIRES[retention.expires]})</span>;
  }
  if (retention.kept_by.length === 0) return <span className="text-slate-400">—</span>;
  const others = retention.kept_by.filter((reason) => reason.rule !== "pinned");
  return (
    <div className="flex max-w-xs flex-wrap items-center gap-1 text-xs text-slate-700">
      {backup.pinned && <Badge tone="admin">Pinned</Badge>}
      {others.length > 0 && <span>{others.map((reason) => reason.label).join(" · ")}</span>}
    </div>
  );
}

function FilterSelect({
  label,
  value,
  options,
  onChange,
}: {
  label: string;
  value: string | undefined;
  options: readonly string[];
  onChange: (value: string | undefined) => void;
}) {
  const id = useId();
  return (
    <div className="flex items-center gap-2">
      <label htmlFor={id} className="text-sm font-medium text-slate-700">
        {label}
      </label>
      <select
        id={id}
        value={value ?? ""}
        onChange={(event) => onChange(event.target.value || undefined)}
        className="rounded-md border border-slate-300 bg-white px-2 py-1.5 text-sm"
      >
        <option value="">All</option>
        {options.map((option) => (
          <option key={option} value={option}>
            {capitalize(option)}
          </option>
        ))}
      </select>
    </div>
  );
}

export function BackupsTable({
  projectId,
  environment,
  restoreTargets,
  canDelete,
}: {
  projectId: string;
  environment: string;
  restoreTargets: RestoreTarget[];
  canDelete: boolean;
}) {
  const [filters, setFilters] = useState<BackupFilters>({});
  const [deleted, setDeleted] = useState<string | null>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);
  const query = useBackupsQuery(projectId, environment, filters);
  const backups = query.data?.pages.flatMap((page) => page.response) ?? [];
  const permissions = query.data?.pages[0]?.permissions;
  const filtered = Boolean(filters.status || filters.origin);

  return (
    <section aria-labelledby="backups-heading" className="space-y-4">
      <div className="flex flex-wrap items-end justify-between gap-4">
        <h2 id="backups-heading" ref={headingRef} tabIndex={-1} className="text-lg font-semibold">
          Backups
        </h2>
        <div className="flex flex-wrap gap-4">
          <FilterSelect label="Status" value={filters.status} options={STATUSES} onChange={(status) => setFilters((f) => ({ ...f, status }))} />
          <FilterSelect label="Origin" value={filters.origin} options={ORIGINS} onChange={(origin) => setFilters((f) => ({ ...f, origin }))} />
        </div>
      </div>

      <p role="status" className={deleted ? "rounded-md bg-green-50 p-3 text-sm text-green-900" : "sr-only"}>
        {deleted && (
          <>
            Backup <span className="font-mono">{deleted}</span> and its files were deleted.
          </>
        )}
      </p>

      {query.isPending ? (
        <p role="status" className="rounded-lg border border-slate-200 bg-white p-6 text-slate-600">
          Loading backups…
        </p>
      ) : query.isError ? (
        <div role="alert" className="flex items-center justify-between gap-4 rounded-lg bg-red-50 p-4 text-red-800">
          <span>Backups could not be loaded: {query.error.message}</span>
          <Button variant="secondary" onClick={() => void query.refetch()}>
            Try again
          </Button>
        </div>
      ) : backups.length === 0 ? (
        <p className="rounded-lg border border-dashed border-slate-300 bg-white p-6 text-slate-600">
          {filtered ? "No backups match these filters." : "No backups yet. Backups appear here as soon as one is created or uploaded."}
        </p>
      ) : (
        <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white">
          <table className="w-full text-left text-sm">
            <caption className="sr-only">
              Backups of {projectId}-{environment}, newest first
            </caption>
            <thead className="border-b border-slate-200 bg-slate-50 text-xs uppercase tracking-wide text-slate-600">
              <tr>
                <th scope="col" className="px-4 py-3">
                  Backup ID
                </th>
                <th scope="col" className="px-4 py-3">
                  Created
                </th>
                <th scope="col" className="px-4 py-3">
                  Origin
                </th>
                <th scope="col" className="px-4 py-3 text-right">
                  Database
                </th>
                <th scope="col" className="px-4 py-3 text-right">
                  Volume
                </th>
                <th scope="col" className="px-4 py-3">
                  Status
                </th>
                <th scope="col" className="px-4 py-3">
                  Kept because
                </th>
                <th scope="col" className="px-4 py-3">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {backups.map((backup) => (
                <tr key={backup.id} className="align-top">
                  <th scope="row" className="px-4 py-3 font-mono text-xs font-normal">
                    {backup.id}
                  </th>
                  <td className="whitespace-nowrap px-4 py-3">
                    <time dateTime={backup.created_at}>{formatDateTime(backup.created_at)}</time>
                  </td>
                  <td className="px-4 py-3">{capitalize(backup.origin)}</td>
                  <td className="whitespace-nowrap px-4 py-3 text-right">{formatBytes(fileSize(backup, "database"))}</td>
                  <td className="whitespace-nowrap px-4 py-3 text-right">{formatBytes(fileSize(backup, "volume"))}</td>
                  <td className="px-4 py-3">
                    <StatusCell backup={backup} />
                  </td>
                  <td className="px-4 py-3">
                    <RetentionCell backup={backup} />
                  </td>
                  <td className="px-4 py-3 text-right">
                    <BackupActionsMenu
                      backup={backup}
                      canDownload={permissions?.download ?? false}
                      projectId={projectId}
                      environment={environment}
                      restoreTargets={restoreTargets}
                      canDelete={canDelete}
                      onDeleted={(backupId) => {
                        setDeleted(backupId);
                        // Its row (and ⋮ button) is going away: keep focus somewhere sensible.
                        headingRef.current?.focus();
                      }}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      {query.hasNextPage && (
        <Button variant="secondary" onClick={() => void query.fetchNextPage()} disabled={query.isFetchingNextPage} aria-busy={query.isFetchingNextPage}>
          {query.isFetchingNextPage ? "Loading…" : "Show older backups"}
        </Button>
      )}
    </section>
  );
}
