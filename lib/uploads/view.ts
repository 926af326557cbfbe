import type { SessionBundle, UploadStatus, UploadWithParts } from "./store";

/** The session as the API shows it; the browser and CLI resume from `uploadedParts`. */
export interface UploadSessionView {
  id: string;
  status: UploadStatus;
  /** Why it failed, expired or was aborted, in words for people. */
  statusReason: string | null;
  /** Set once the backup exists. */
  backupId: string | null;
  /** Once completed: the backup's verification — `warning` names what to fix (e.g. table-name case) in `result`. */
  verification: { status: string; result: string | null } | null;
  projectId: string;
  environment: string;
  createdBy: string;
  createdAt: string;
  expiresAt: string;
  /** How many parts to send at once. */
  parallelParts: number;
  uploads: UploadView[];
}

export interface UploadView {
  id: string;
  kind: "database" | "volume";
  fileName: string;
  size: number;
  /** Every part is this long except the last. */
  partSize: number;
  partCount: number;
  sha256: string | null;
  /** Where each part goes: replace `{partNumber}` (1-based). */
  partUrl: string;
  uploadedParts: { partNumber: number; size: number; sha256: string }[];
  uploadedBytes: number;
}

export function partUrlTemplate(uploadId: string): string {
  return `/api/v1/uploads/${uploadId}/parts/{partNumber}`;
}

function toUploadView(upload: UploadWithParts): UploadView {
  const uploadedParts = upload.parts.map((p) => ({ partNumber: p.partNumber, size: p.sizeBytes, sha256: p.sha256 }));
  return {
    id: upload.id,
    kind: upload.kind,
    fileName: upload.fileName,
    size: upload.sizeBytes,
    partSize: upload.partSize,
    partCount: upload.partCount,
    sha256: upload.sha256,
    partUrl: partUrlTemplate(upload.id),
    uploadedParts,
    uploadedBytes: uploadedParts.reduce((sum, p) => sum + p.size, 0),
  };
}

export function toSessionView(
  bundle: SessionBundle,
  { parallelParts }: { parallelParts: number },
  verification: UploadSessionView["verification"] = null,
): UploadSessionView {
  const { session, environment } = bundle;
  return {
    id: session.id,
    status: session.status,
    statusReason: session.statusReason,
    backupId: session.backupId,
    verification,
    projectId: environment.projectId,
    environment: environment.name,
    createdBy: session.createdBy,
    createdAt: session.createdAt.toISOString(),
    expiresAt: session.expiresAt.toISOString(),
    parallelParts,
    uploads: bundle.uploads.map(toUploadView),
  };
}
