import type { Environment, Restore } from "@/lib/db/schema";

/** The one JSON shape of a restore, for the console and the API alike (docs: /work/notes/api-contract.md). */
export interface RestoreJson {
  id: string;
  backup_id: string | null;
  project: string;
  environment: string;
  status: "queued" | "running" | "completed" | "failed";
  status_reason: string | null;
  stage: string | null;
  progress: { bytes: number; total_bytes: number | null };
  created_by: string;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
}

/** `environment` is the target, the environment restored into. */
export function toRestoreJson(restore: Restore, environment: Pick<Environment, "projectId" | "name">): RestoreJson {
  return {
    id: restore.id,
    backup_id: restore.backupId,
    project: environment.projectId,
    environment: environment.name,
    // "none" exists for backups.restore_status only; a restore row is never in it.
    status: restore.status === "none" ? "queued" : restore.status,
    status_reason: restore.statusReason,
    stage: restore.stage,
    progress: { bytes: restore.progressBytes, total_bytes: restore.totalBytes },
    created_by: restore.createdBy,
    created_at: restore.createdAt.toISOString(),
    started_at: restore.startedAt?.toISOString() ?? null,
    completed_at: restore.completedAt?.toISOString() ?? null,
  };
}
