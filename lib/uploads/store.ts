import { and, asc, eq, gt, inArray, lt, sql } from "drizzle-orm";

import type { Db } from "@/lib/db/client";
import { backups, environments, uploadParts, uploads, uploadSessions } from "@/lib/db/schema";
import type { Environment, Upload, UploadPart, UploadSession } from "@/lib/db/schema";

/*
 * The uploads' data access: named verbs with object arguments. A status
 * change is always conditional on the status it leaves, so two instances (or
 * a sweep and a request) racing on one session cannot both win.
 */

export type UploadStatus = UploadSession["status"];
export type FileKind = Upload["kind"];
export type UploadWithParts = Upload & { parts: UploadPart[] };

export interface SessionBundle {
  session: UploadSession;
  environment: Environment;
  uploads: UploadWithParts[];
}

export interface NewUploadFile {
  id: string;
  kind: FileKind;
  fileName: string;
  sizeBytes: number;
  partSize: number;
  partCount: number;
  sha256: string | null;
  storageKey: string;
  storageUploadId: string;
}

export async function insertUploadSession(
  db: Db,
  input: { id: string; environmentId: string; createdBy: string; expiresAt: Date; files: NewUploadFile[] },
): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.insert(uploadSessions).values({
      id: input.id,
      environmentId: input.environmentId,
      createdBy: input.createdBy,
      expiresAt: input.expiresAt,
    });
    await tx.insert(uploads).values(input.files.map((file) => ({ ...file, sessionId: input.id })));
  });
}

const KIND_ORDER: Record<FileKind, number> = { database: 0, volume: 1 };

async function withParts(db: Db, rows: Upload[]): Promise<UploadWithParts[]> {
  if (rows.length === 0) return [];
  const parts = await db
    .select()
    .from(uploadParts)
    .where(
      inArray(
        uploadParts.uploadId,
        rows.map((u) => u.id),
      ),
    )
    .orderBy(asc(uploadParts.partNumber));
  return rows.sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind]).map((upload) => ({ ...upload, parts: parts.filter((p) => p.uploadId === upload.id) }));
}

export async function getSessionBundle(db: Db, { sessionId }: { sessionId: string }): Promise<SessionBundle | undefined> {
  const [row] = await db
    .select({ session: uploadSessions, environment: environments })
    .from(uploadSessions)
    .innerJoin(environments, eq(uploadSessions.environmentId, environments.id))
    .where(eq(uploadSessions.id, sessionId));
  if (!row) return undefined;
  const files = await db.select().from(uploads).where(eq(uploads.sessionId, sessionId));
  return { ...row, uploads: await withParts(db, files) };
}

/** One file's upload with its session and environment: what the byte path needs to authorise a part. */
export async function getUploadContext(
  db: Db,
  { uploadId }: { uploadId: string },
): Promise<{ upload: Upload; session: UploadSession; environment: Environment } | undefined> {
  const [row] = await db
    .select({ upload: uploads, session: uploadSessions, environment: environments })
    .from(uploads)
    .innerJoin(uploadSessions, eq(uploads.sessionId, uploadSessions.id))
    .innerJoin(environments, eq(uploadSessions.environmentId, environments.id))
    .where(eq(uploads.id, uploadId));
  return row;
}

/** A person's open, unexpired sessions in one environment, newest first: candidates for resuming. */
export async function listOpenSessions(
  db: Db,
  { environmentId, createdBy, now }: { environmentId: string; createdBy: string; now: Date },
): Promise<SessionBundle[]> {
  const rows = await db
    .select({ session: uploadSessions, environment: environments })
    .from(uploadSessions)
    .innerJoin(environments, eq(uploadSessions.environmentId, environments.id))
    .where(
      and(
        eq(uploadSessions.environmentId, environmentId),
        eq(uploadSessions.createdBy, createdBy),
        eq(uploadSessions.status, "open"),
        gt(uploadSessions.expiresAt, now),
      ),
    )
    .orderBy(sql`${uploadSessions.createdAt} desc`);
  const bundles: SessionBundle[] = [];
  for (const row of rows) {
    const files = await db.select().from(uploads).where(eq(uploads.sessionId, row.session.id));
    bundles.push({ ...row, uploads: await withParts(db, files) });
  }
  return bundles;
}

/** A part sent again replaces the earlier one, exactly as the storage's own part does. */
export async function upsertUploadPart(db: Db, part: { uploadId: string; partNumber: number; sizeBytes: number; sha256: string; etag: string }): Promise<void> {
  await db
    .insert(uploadParts)
    .values(part)
    .onConflictDoUpdate({
      target: [uploadParts.uploadId, uploadParts.partNumber],
      set: { sizeBytes: part.sizeBytes, sha256: part.sha256, etag: part.etag, createdAt: sql`now()` },
    });
}

/** Forgets a part whose bytes in storage are no longer known to be the recorded ones. */
export async function deleteUploadPart(db: Db, { uploadId, partNumber }: { uploadId: string; partNumber: number }): Promise<void> {
  await db.delete(uploadParts).where(and(eq(uploadParts.uploadId, uploadId), eq(uploadParts.partNumber, partNumber)));
}

/** Activity keeps a session alive: its expiry moves to `expiresAt` if that is later. */
export async function extendOpenSession(db: Db, { sessionId, expiresAt }: { sessionId: string; expiresAt: Date }): Promise<void> {
  await db
    .update(uploadSessions)
    .set({ expiresAt: sql`greatest(${uploadSessions.expiresAt}, ${expiresAt.toISOString()}::timestamptz)` })
    .where(and(eq(uploadSessions.id, sessionId), eq(uploadSessions.status, "open")));
}

export async function setUploadSha256(db: Db, { uploadId, sha256 }: { uploadId: string; sha256: string }): Promise<void> {
  await db.update(uploads).set({ sha256 }).where(eq(uploads.id, uploadId));
}

/**
 * Moves a session (and its files) from one of `from` to `to`; false if it
 * was not in one of those states any more (someone else got there first).
 */
export async function transitionSession(
  db: Db,
  input: { sessionId: string; from: UploadStatus[]; to: UploadStatus; reason?: string | null; backupId?: string; expiredBefore?: Date },
): Promise<boolean> {
  const conditions = [eq(uploadSessions.id, input.sessionId), inArray(uploadSessions.status, input.from)];
  if (input.expiredBefore) conditions.push(lt(uploadSessions.expiresAt, input.expiredBefore));
  const rows = await db
    .update(uploadSessions)
    .set({
      status: input.to,
      ...(input.reason !== undefined ? { statusReason: input.reason } : {}),
      ...(input.backupId !== undefined ? { backupId: input.backupId } : {}),
    })
    .where(and(...conditions))
    .returning({ id: uploadSessions.id });
  if (rows.length === 0) return false;
  await db.update(uploads).set({ status: input.to }).where(eq(uploads.sessionId, input.sessionId));
  return true;
}

/** The parts' rows go once their bytes are gone (aborted, expired, failed): nothing can resume from them. */
export async function deleteSessionParts(db: Db, { sessionId }: { sessionId: string }): Promise<void> {
  const files = db.select({ id: uploads.id }).from(uploads).where(eq(uploads.sessionId, sessionId));
  await db.delete(uploadParts).where(inArray(uploadParts.uploadId, files));
}

export async function listSessionsToExpire(db: Db, { now, limit }: { now: Date; limit: number }): Promise<UploadSession[]> {
  return db
    .select()
    .from(uploadSessions)
    .where(and(eq(uploadSessions.status, "open"), lt(uploadSessions.expiresAt, now)))
    .orderBy(asc(uploadSessions.expiresAt))
    .limit(limit);
}

export async function listCompletingSessions(db: Db): Promise<UploadSession[]> {
  return db.select().from(uploadSessions).where(eq(uploadSessions.status, "completing"));
}

export async function listSessionUploads(db: Db, { sessionId }: { sessionId: string }): Promise<Upload[]> {
  return db.select().from(uploads).where(eq(uploads.sessionId, sessionId));
}

export async function getSession(db: Db, { sessionId }: { sessionId: string }): Promise<UploadSession | undefined> {
  const [row] = await db.select().from(uploadSessions).where(eq(uploadSessions.id, sessionId));
  return row;
}

/** How the backup an upload became was judged: passed, or kept with warnings. */
export async function getBackupVerification(
  db: Db,
  { backupId }: { backupId: string },
): Promise<{ status: (typeof backups.$inferSelect)["verifyStatus"]; result: string | null } | undefined> {
  const [row] = await db.select({ status: backups.verifyStatus, result: backups.verifyResult }).from(backups).where(eq(backups.id, backupId));
  return row;
}
