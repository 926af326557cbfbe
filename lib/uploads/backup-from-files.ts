import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

import { auditActorType } from "@/lib/auth/permissions";
import type { Actor } from "@/lib/auth/permissions";
import { generateBackupId } from "@/lib/backups/backup-id";
import { isVerificationError, VerificationError, verifyDatabaseDump, verifyVolumeArchive } from "@/lib/backups/verify";
import type { DatabaseDumpReport, ExpansionLimits, VolumeArchiveReport } from "@/lib/backups/verify";
import type { Db } from "@/lib/db/client";
import { recordAuditEvent } from "@/lib/db/queries/audit";
import { backupFiles, backups } from "@/lib/db/schema";
import type { BackupManifest, Environment } from "@/lib/db/schema";
import { formatBytes } from "@/lib/format";
import type { Storage } from "@/lib/storage/types";

import { environmentLabel } from "./access";
import { DigestStream } from "./digest";
import { STORED_NAME } from "./files";
import type { RequestInfo } from "./sessions";
import type { FileKind } from "./store";

/*
 * What turns two stored files into a backup, whichever way they arrived: the
 * resumable Upload Backup protocol (complete.ts) or the Liferay-compatible
 * `POST /backup/upload` (lib/liferay/upload-handler.ts). Both verify the same
 * way and record the same backup, manifest and audit line.
 */

/** One file already whole in storage. */
export interface StoredUploadFile {
  kind: FileKind;
  /** The name the person gave it, for messages. */
  fileName: string;
  sizeBytes: number;
  storageKey: string;
}

export type StoredUploadFiles = Record<FileKind, StoredUploadFile>;

export interface VerifiedFiles {
  database: { report: DatabaseDumpReport; sha256: string };
  volume: { report: VolumeArchiveReport; sha256: string };
}

/**
 * Reads the stored object once: its SHA-256 and its contents are checked in
 * the same pass. A Transform rather than an async generator: no promise per
 * chunk, which matters under Next's AsyncLocalStorage on Node 20.
 */
async function verifyStored<Report>(
  storage: Storage,
  file: StoredUploadFile,
  expectedSha256: string,
  verify: (stream: Readable) => Promise<Report>,
): Promise<{ report: Report; sha256: string }> {
  const digest = new DigestStream();
  // The verifier destroys `digest` if it stops early; pipeline then destroys the storage stream too.
  const reading = pipeline(await storage.getObject(file.storageKey), digest).then(
    () => null,
    (error: unknown) => error,
  );
  const report = await verify(digest);
  const readError = await reading;
  if (readError) throw readError;
  const sha256 = digest.sha256!;
  if (sha256 !== expectedSha256) {
    throw new VerificationError(
      file.fileName,
      `${file.fileName} changed on the way: the stored file's SHA-256 is ${sha256}, but the one computed before sending is ${expectedSha256}.`,
    );
  }
  return { report, sha256 };
}

/**
 * Both files at once (gunzip runs on libuv's thread pool, so two files use
 * two cores); every failure is reported, not just the first. `hashes` are the
 * SHA-256s the sender computed: the stored bytes must match them. A file that
 * expands past `expansion` (MAX_EXPANDED_SIZE, MAX_EXPANSION_RATIO: the
 * caller passes getConfig().expansion) fails as soon as it does.
 */
export async function verifyStoredFiles({
  storage,
  environment,
  files,
  hashes,
  expansion,
  signal,
}: {
  storage: Storage;
  environment: Environment;
  files: StoredUploadFiles;
  hashes: Record<FileKind, string>;
  expansion: ExpansionLimits;
  signal: AbortSignal;
}): Promise<VerifiedFiles> {
  const { database, volume } = files;
  const results = await Promise.allSettled([
    verifyStored(storage, database, hashes.database, (stream) =>
      verifyDatabaseDump(stream, {
        engine: environment.dbEngine,
        fileName: database.fileName,
        environmentLabel: environmentLabel(environment),
        expansion: { limits: expansion, compressedBytes: database.sizeBytes },
        signal,
      }),
    ),
    verifyStored(storage, volume, hashes.volume, (stream) =>
      verifyVolumeArchive(stream, { fileName: volume.fileName, expansion: { limits: expansion, compressedBytes: volume.sizeBytes }, signal }),
    ),
  ]);
  if (signal.aborted) throw signal.reason;
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === "rejected").map((r) => r.reason as unknown);
  const unexpected = failures.find((f) => !isVerificationError(f));
  if (unexpected) throw unexpected;
  if (failures.length > 0) {
    throw new VerificationError("both", failures.map((f) => (f as VerificationError).message).join(" "));
  }
  const [db, vol] = results as [PromiseFulfilledResult<VerifiedFiles["database"]>, PromiseFulfilledResult<VerifiedFiles["volume"]>];
  return { database: db.value, volume: vol.value };
}

function verifySummary(files: StoredUploadFiles, verified: VerifiedFiles): { status: "passed" | "warning"; text: string } {
  const d = verified.database.report;
  const v = verified.volume.report;
  const engine = d.engine === "postgresql" ? "PostgreSQL" : d.engine === "mysql" ? "MySQL/MariaDB" : "SQL";
  const tool = [d.dumpTool, d.serverVersion ? `server ${d.serverVersion}` : null].filter(Boolean).join(", ");
  const lines = [
    `${files.database.fileName}: ${engine} dump${tool ? ` (${tool})` : ""}, ${d.tables.length} tables, ${formatBytes(d.uncompressedBytes)} uncompressed; SHA-256 verified.`,
    `${files.volume.fileName}: ${v.files} files in ${v.directories} folders under document_library/, ${formatBytes(v.contentBytes)}; SHA-256 verified.`,
    ...d.warnings.map((w) => `Warning: ${w}`),
  ];
  return { status: d.warnings.length > 0 ? "warning" : "passed", text: lines.join("\n") };
}

/** What a backup made of two verified files records, however they arrived. */
export interface VerifiedBackupRecord {
  rows: { kind: FileKind; name: string; size: number; sha256: string; storageKey: string }[];
  manifest: BackupManifest;
  engine: BackupManifest["database"]["engine"];
  totalBytes: number;
  verify: { status: "passed" | "warning"; text: string };
}

/**
 * The file rows, manifest and verify summary of a backup made from two
 * verified files: shared by uploads (a new row) and imports (a queued row
 * completed), so both record exactly the same things.
 */
export function describeVerifiedBackup({
  backupId,
  environment,
  files,
  verified,
  createdBy,
  origin,
  completedAt,
}: {
  backupId: string;
  environment: Environment;
  files: StoredUploadFiles;
  verified: VerifiedFiles;
  createdBy: string;
  origin: BackupManifest["origin"];
  completedAt: Date;
}): VerifiedBackupRecord {
  const kinds: FileKind[] = ["database", "volume"];
  const rows = kinds.map((kind) => ({
    kind,
    name: STORED_NAME[kind],
    size: files[kind].sizeBytes,
    sha256: verified[kind].sha256,
    storageKey: files[kind].storageKey,
  }));
  const engine = verified.database.report.engine ?? environment.dbEngine;
  const manifest: BackupManifest = {
    version: 1,
    backupId,
    createdAt: completedAt.toISOString(),
    createdBy,
    origin,
    parentId: null,
    database: { engine, serverVersion: verified.database.report.serverVersion, dumpTool: verified.database.report.dumpTool },
    files: rows.map(({ kind, name, size, sha256 }) => ({ kind, name, size, sha256 })),
  };
  return { rows, manifest, engine, totalBytes: rows.reduce((sum, f) => sum + f.size, 0), verify: verifySummary(files, verified) };
}

/**
 * The backup, its files and the audit line, all or nothing. `within` runs in
 * the same transaction (the upload protocol moves its session there); if it
 * throws, no backup exists.
 */
export async function recordUploadedBackup({
  db,
  environment,
  files,
  verified,
  actor,
  request,
  startedAt,
  detail = {},
  within,
}: {
  db: Db;
  environment: Environment;
  files: StoredUploadFiles;
  verified: VerifiedFiles;
  actor: Actor;
  request?: RequestInfo;
  startedAt: Date;
  detail?: Record<string, unknown>;
  within?: (tx: Db, backupId: string) => Promise<void>;
}): Promise<{ backupId: string; verifyStatus: "passed" | "warning"; verifyResult: string }> {
  const backupId = generateBackupId(environment.projectId);
  const completedAt = new Date();
  const kinds: FileKind[] = ["database", "volume"];
  const {
    rows,
    manifest,
    engine,
    totalBytes: total,
    verify,
  } = describeVerifiedBackup({
    backupId,
    environment,
    files,
    verified,
    createdBy: actor.email,
    origin: "uploaded",
    completedAt,
  });

  await db.transaction(async (tx) => {
    await tx.insert(backups).values({
      id: backupId,
      environmentId: environment.id,
      origin: "uploaded",
      status: "completed",
      progressBytes: total,
      totalBytes: total,
      verifyStatus: verify.status,
      verifyResult: verify.text,
      dbEngine: engine,
      createdBy: actor.email,
      createdByType: auditActorType(actor),
      manifest,
      createdAt: completedAt,
      startedAt,
      completedAt,
    });
    await tx
      .insert(backupFiles)
      .values(rows.map((f) => ({ backupId, kind: f.kind, fileName: f.name, sizeBytes: f.size, sha256: f.sha256, storageKey: f.storageKey })));
    if (within) await within(tx, backupId);
    await recordAuditEvent(tx, {
      actor: actor.email,
      actorType: auditActorType(actor),
      action: "backup.upload",
      projectId: environment.projectId,
      environmentId: environment.id,
      backupId,
      ip: request?.ip ?? null,
      userAgent: request?.userAgent ?? null,
      detail: {
        ...detail,
        ...(actor.tokenId ? { tokenId: actor.tokenId } : {}),
        verifyStatus: verify.status,
        files: kinds.map((kind) => ({ kind, fileName: files[kind].fileName, size: files[kind].sizeBytes, sha256: verified[kind].sha256 })),
      },
    });
  });
  return { backupId, verifyStatus: verify.status, verifyResult: verify.text };
}
