import type { Metadata } from "next";
import { notFound } from "next/navigation";

import { findVisibleEnvironment } from "@/lib/environments/visible";
import { requirePageActor } from "@/lib/http/current-actor";
import { getDb } from "@/lib/db/client";
import { listAuditEvents } from "@/lib/db/queries/audit";
import type { AuditEvent } from "@/lib/db/schema";
import { formatBytes, formatDateTime } from "@/lib/format";

import { EnvironmentHeader } from "../environment-header";

type Params = { projectId: string; environment: string };

export const metadata: Metadata = { title: "Activity" };

const ACTIONS: Record<string, string> = {
  "backup.download": "Downloaded a backup file",
  "backup.upload": "Uploaded a backup",
  "backup.upload_failed": "Upload refused",
  "backup.upload_aborted": "Upload cancelled",
  "backup.upload_expired": "Upload expired",
  "backup.create": "Created a backup",
  "backup.create_failed": "Backup failed",
  "backup.restore_requested": "Asked for a restore",
  "backup.restore": "Restored a backup",
  "backup.restore_failed": "Restore failed",
  "backup.delete": "Deleted a backup",
  "backup.pin": "Pinned a backup",
  "backup.unpin": "Unpinned a backup",
  "backup.schedule_skipped": "Scheduled backup skipped",
  "backup.schedule_failed": "Scheduled backup not started",
  "backup.import": "Imported a backup",
  "backup.import_failed": "Import failed",
  "backup.key_download": "Downloaded with the backup key",
  "environment.update": "Changed settings",
};

function describe(event: AuditEvent): string {
  const detail = event.detail as Record<string, unknown>;
  if (event.action === "backup.download") {
    const parts = [String(detail.fileName ?? detail.kind ?? "")];
    if (typeof detail.bytesSent === "number") parts.push(formatBytes(detail.bytesSent));
    if (detail.range) parts.push(`range ${String(detail.range)}`);
    if (detail.complete === false) parts.push("interrupted");
    return parts.filter(Boolean).join(" · ");
  }
  if (event.action === "environment.update" && Array.isArray(detail.fields)) return detail.fields.join(", ");
  if (detail.reason === "retention" && typeof detail.rule === "string") {
    return `retention: ${{ keep_count: "outside keep count", keep_days: "older than keep days", keep_rules: "no rule keeps it" }[detail.rule] ?? detail.rule}`;
  }
  if (typeof detail.reason === "string") return detail.reason;
  return "";
}

/** Everything done in the environment, newest first: who, what, when, from where. */
export default async function ActivityPage({ params }: { params: Promise<Params> }) {
  const { projectId, environment: name } = await params;
  const actor = await requirePageActor();
  const environment = await findVisibleEnvironment(actor, { projectId, environment: name });
  if (!environment) notFound();
  const events = await listAuditEvents(getDb(), { environmentId: environment.id, limit: 200 });

  return (
    <div className="space-y-6">
      <EnvironmentHeader actor={actor} environment={environment} current="activity" />
      {events.length === 0 ? (
        <p className="rounded-lg border border-dashed border-slate-300 bg-white p-6 text-slate-600">Nothing has happened here yet.</p>
      ) : (
        <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white">
          <table className="w-full text-left text-sm">
            <caption className="sr-only">
              Activity in {projectId}-{environment.name}, newest first (the latest 200)
            </caption>
            <thead className="border-b border-slate-200 bg-slate-50 text-xs uppercase tracking-wide text-slate-600">
              <tr>
                <th scope="col" className="px-4 py-3">
                  When
                </th>
                <th scope="col" className="px-4 py-3">
                  Who
                </th>
                <th scope="col" className="px-4 py-3">
                  What
                </th>
                <th scope="col" className="px-4 py-3">
                  Backup
                </th>
                <th scope="col" className="px-4 py-3">
                  Details
                </th>
                <th scope="col" className="px-4 py-3">
                  From
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {events.map((event) => (
                <tr key={event.id} className="align-top">
                  <td className="whitespace-nowrap px-4 py-3">
                    <time dateTime={event.at.toISOString()}>{formatDateTime(event.at.toISOString(), "UTC")}</time>
                  </td>
                  <td className="px-4 py-3">
                    {event.actor}
                    {event.actorType !== "user" && <span className="ml-1 text-xs text-slate-500">({event.actorType})</span>}
                  </td>
                  <td className="px-4 py-3">{ACTIONS[event.action] ?? event.action}</td>
                  <td className="px-4 py-3 font-mono text-xs">{event.backupId ?? ""}</td>
                  <td className="max-w-sm break-words px-4 py-3 text-slate-600">{describe(event)}</td>
                  <td className="px-4 py-3 text-slate-500">{event.ip ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
