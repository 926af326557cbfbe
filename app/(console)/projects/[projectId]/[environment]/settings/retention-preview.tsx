"use client";

import { useQuery } from "@tanstack/react-query";
import { useEffect, useId, useState } from "react";

import { fetchJson } from "@/lib/api/client";
import type { RetentionPreview, RetentionSettings } from "@/lib/backups/retention/explain";
import { formatDateTime } from "@/lib/format";

const RULES: Record<RetentionPreview["deletes"][number]["rule"], string> = {
  keep_count: "outside keep count",
  keep_days: "older than keep days",
  keep_rules: "no rule keeps it",
};

/** Waits until the person stops typing for a moment, so each keystroke is not a request. */
function useSettled<T>(value: T, ms = 300): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

/**
 * Before the rules are saved: which backups they would delete now (POST
 * …/retention/preview), as the person edits them. Saving applies them at
 * once, so this is what saving does.
 */
export function RetentionPreviewPanel({ project, environment, proposal }: { project: string; environment: string; proposal: RetentionSettings }) {
  const headingId = useId();
  const settled = useSettled(proposal);
  const query = useQuery({
    queryKey: ["retention-preview", project, environment, settled],
    queryFn: ({ signal }) =>
      fetchJson<{ response: RetentionPreview }>(
        `/api/v1/projects/${encodeURIComponent(project)}/environments/${encodeURIComponent(environment)}/retention/preview`,
        {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(settled),
          signal,
        },
      ),
    // A preview is of this moment: never an old answer for the same rules.
    staleTime: 0,
    retry: false,
  });
  const preview = query.data?.response;
  const waiting = query.isFetching || settled !== proposal;

  return (
    <section aria-labelledby={headingId} className="rounded-md border border-slate-200 bg-slate-50 p-4 text-sm">
      <h4 id={headingId} className="font-medium text-slate-800">
        What these rules would delete
      </h4>
      {/* Announced as it changes; not a role="status", which the form keeps for "Settings saved." */}
      <div aria-live="polite" aria-busy={waiting} className="mt-2 space-y-2 text-slate-700">
        {query.isError ? (
          <p className="text-red-800">The preview could not be made: {query.error.message}</p>
        ) : !preview ? (
          <p>Working it out…</p>
        ) : preview.delete_count === 0 ? (
          <p>Saving these rules deletes no backup; {preview.keep_count === 1 ? "the one backup stays" : `all ${preview.keep_count} backups stay`}.</p>
        ) : (
          <>
            <p>
              Saving these rules deletes {preview.delete_count === 1 ? "1 backup" : `${preview.delete_count} backups`} at once and keeps {preview.keep_count}:
            </p>
            <ul aria-label="Backups these rules would delete" className="max-h-48 space-y-1 overflow-y-auto">
              {preview.deletes.map((backup) => (
                <li key={backup.id}>
                  <span className="font-mono text-xs">{backup.id}</span> <span className="text-slate-500">({formatDateTime(backup.created_at)})</span>{" "}
                  <span className="text-slate-500">— {backup.status === "failed" ? "failed, older than keep days" : RULES[backup.rule]}</span>
                </li>
              ))}
            </ul>
            {preview.delete_count > preview.deletes.length && <p>… and {preview.delete_count - preview.deletes.length} more, oldest first.</p>}
          </>
        )}
      </div>
      <p className="mt-2 text-xs text-slate-500">
        The newest completed backup and pinned backups are never deleted; a backup that is being restored from waits for the next retention run.
      </p>
    </section>
  );
}
