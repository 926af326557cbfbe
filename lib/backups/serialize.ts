import type { BackupWithFiles } from "@/lib/db/queries/backups";
import type { Environment } from "@/lib/db/schema";

import type { BackupRetentionJson } from "./retention/explain";

export const FILE_LABELS = { database: "Database (.gz)", volume: "Liferay (.tgz)" } as const;

/** The one JSON shape of a backup, for the console and the API alike. */
export interface BackupJson {
  id: string;
  project: string;
  environment: string;
  name: string | null;
  description: string | null;
  origin: BackupWithFiles["origin"];
  status: BackupWithFiles["status"];
  status_reason: string | null;
  progress: { bytes: number; total_bytes: number | null };
  verify_status: BackupWithFiles["verifyStatus"];
  verify_result: string | null;
  restore_status: BackupWithFiles["restoreStatus"];
  db_type: BackupWithFiles["dbEngine"];
  created_by: string;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  files: { kind: "database" | "volume"; name: string; size: number; sha256: string; download_url: string }[];
  pinned: boolean;
  pinned_by: string | null;
  pinned_at: string | null;
  /** In the list only: why retention keeps it (lib/backups/retention/explain.ts). */
  retention?: BackupRetentionJson;
}

export function downloadPath(kind: "database" | "volume", backupId: string): string {
  return `/backup/download/${kind}/${backupId}`;
}

export function toBackupJson(backup: BackupWithFiles, environment: Pick<Environment, "projectId" | "name">): BackupJson {
  return {
    id: backup.id,
    project: environment.projectId,
    environment: environment.name,
    name: backup.name,
    description: backup.description,
    origin: backup.origin,
    status: backup.status,
    status_reason: backup.statusReason,
    progress: { bytes: backup.progressBytes, total_bytes: backup.totalBytes },
    verify_status: backup.verifyStatus,
    verify_result: backup.verifyResult,
    restore_status: backup.restoreStatus,
    db_type: backup.dbEngine,
    created_by: backup.createdBy,
    created_at: backup.createdAt.toISOString(),
    started_at: backup.startedAt?.toISOString() ?? null,
    completed_at: backup.completedAt?.toISOString() ?? null,
    files: backup.files
      .toSorted((a, b) => a.kind.localeCompare(b.kind))
      .map((file) => ({
        kind: file.kind,
        name: file.fileName,
        size: file.sizeBytes,
        sha256: file.sha256,
        download_url: downloadPath(file.kind, backup.id),
      })),
    pinned: backup.pinned,
    pinned_by: backup.pinnedBy,
    pinned_at: backup.pinnedAt?.toISOString() ?? null,
  };
}
