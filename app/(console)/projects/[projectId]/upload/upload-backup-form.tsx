"use client";

import { useId, useState } from "react";

import { Badge } from "@/components/ui/badge";

import { EnvironmentUploader } from "./environment-uploader";

export interface UploadTarget {
  name: string;
  displayName: string;
  isProduction: boolean;
  canUpload: boolean;
}

/** The environments as expandable sections, as on Liferay's Upload Backup page. */
export function UploadBackupForm({
  projectId,
  environments,
  initiallyExpanded,
}: {
  projectId: string;
  environments: UploadTarget[];
  initiallyExpanded?: string;
}) {
  return (
    <ul className="space-y-3" aria-label="Environments">
      {environments.map((env) => (
        <EnvironmentSection key={env.name} projectId={projectId} environment={env} defaultOpen={env.name === initiallyExpanded} />
      ))}
    </ul>
  );
}

function EnvironmentSection({ projectId, environment, defaultOpen }: { projectId: string; environment: UploadTarget; defaultOpen: boolean }) {
  const [open, setOpen] = useState(defaultOpen);
  const regionId = useId();
  return (
    <li className="rounded-lg border border-slate-200 bg-white">
      <h2>
        <button
          type="button"
          aria-expanded={open}
          aria-controls={regionId}
          onClick={() => setOpen((o) => !o)}
          className="flex w-full items-center justify-between gap-3 px-5 py-4 text-left"
        >
          <span className="flex items-center gap-3">
            <span aria-hidden="true" className={`inline-block transition-transform ${open ? "rotate-90" : ""}`}>
              ▸
            </span>
            <span className="text-lg font-semibold">{environment.name}</span>
            <span className="text-sm text-slate-500">{environment.displayName}</span>
            {environment.isProduction && <Badge tone="production">Production</Badge>}
          </span>
        </button>
      </h2>
      <div id={regionId} role="region" aria-label={`Upload to ${environment.name}`} hidden={!open} className="border-t border-slate-200 px-5 py-4">
        {environment.canUpload ? (
          <EnvironmentUploader projectId={projectId} environment={environment.name} />
        ) : (
          <p className="text-sm text-slate-600">
            Only administrators of {projectId}-{environment.name} can upload backups to it.
          </p>
        )}
      </div>
    </li>
  );
}
