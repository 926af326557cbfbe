import { and, desc, eq, inArray, sql } from "drizzle-orm";

import type { Db } from "../client";
import { backupFiles, backups, environments } from "../schema";
import type { Backup, BackupFile, Environment } from "../schema";

export type BackupStatus = Backup["status"];
export type BackupOrigin = Backup["origin"];
export type BackupDbType = NonNullable<Backup["dbEngine"]>;

/** The list's filters: status and origin as the console offers them, db_type as Cloud 66's list has it. */
export interface BackupFilters {
  status?: BackupStatus;
  origin?: BackupOrigin;
  dbType?: BackupDbType;
}

function filterConditions(environmentId: string, filters: BackupFilters) {
  const conditions = [eq(backups.environmentId, environmentId)];
  if (filters.status) conditions.push(eq(backups.status, filters.status));
  if (filters.origin) conditions.push(eq(backups.origin, filters.origin));
  if (filters.dbType) conditions.push(eq(backups.dbEngine, filters.dbType));
  return conditions;
}
export type BackupWithFiles = Backup & { files: BackupFile[] };

/** Where the next page starts: the last row's (created_at, id), newest first. */
export interface BackupCursor {
  createdAt: Date;
  id: string;
}

export function encodeBackupCursor(cursor: BackupCursor): string {
  return Buffer.from(`${cursor.createdAt.toISOString()}|${cursor.id}`).toString("base64url");
}

export function decodeBackupCursor(value: string): BackupCursor | null {
  const [iso, id] = Buffer.from(value, "base64url").toString("utf8").split("|");
  if (!iso || !id) return null;
  const createdAt = new Date(iso);
  return Number.isNaN(createdAt.getTime()) ? null : { createdAt, id };
}

/**
 * One page of an environment's backups, newest first. Keyset pagination on
 * (created_at, id) walks the index whatever the depth, and rows inserted
 * while a person pages through never shift or repeat what they see.
 * `offset` serves Cloud 66's page numbers; the cursor stays the fast way
 * through deep pages.
 */
export async function listBackups(
  db: Db,
  input: { environmentId: string; limit: number; cursor?: BackupCursor; offset?: number } & BackupFilters,
): Promise<{ items: BackupWithFiles[]; nextCursor: BackupCursor | null }> {
  const conditions = filterConditions(input.environmentId, input);
  if (input.cursor) {
    // A row comparison, so the index scan starts right at the cursor instead of filtering its way there.
    const { createdAt, id } = input.cursor;
    conditions.push(sql`(${backups.createdAt}, ${backups.id}) < (${createdAt.toISOString()}::timestamptz, ${id})`);
  }
  const rows = await db
    .select()
    .from(backups)
    .where(and(...conditions))
    .orderBy(desc(backups.createdAt), desc(backups.id))
    .limit(input.limit + 1)
    .offset(input.offset ?? 0);

  const page = rows.slice(0, input.limit);
  const last = page.at(-1);
  const nextCursor = rows.length > input.limit && last ? { createdAt: last.createdAt, id: last.id } : null;
  return { items: await withFiles(db, page), nextCursor };
}

/**
 * How many of an environment's backups match the filters — with `through`,
 * only those listed up to and including that cursor's row: how many pages
 * lie before the page the cursor starts.
 * One index range per environment.
 */
export async function countBackups(db: Db, input: { environmentId: string; through?: BackupCursor } & BackupFilters): Promise<number> {
  const conditions = filterConditions(input.environmentId, input);
  if (input.through) {
    const { createdAt, id } = input.through;
    conditions.push(sql`(${backups.createdAt}, ${backups.id}) >= (${createdAt.toISOString()}::timestamptz, ${id})`);
  }
  const [row] = await db
    .select({ count: sql<number>`count(*)::int` })
    .from(backups)
    .where(and(...conditions));
  return Number(row?.count ?? 0);
}

async function withFiles(db: Db, rows: Backup[]): Promise<BackupWithFiles[]> {
  if (rows.length === 0) return [];
  const files = await db
    .select()
    .from(backupFiles)
    .where(
      inArray(
        backupFiles.backupId,
        rows.map((b) => b.id),
      ),
    );
  return rows.map((b) => ({ ...b, files: files.filter((f) => f.backupId === b.id) }));
}

/** A backup with its files and the environment it belongs to. */
export async function getBackup(db: Db, { id }: { id: string }): Promise<(BackupWithFiles & { environment: Environment }) | undefined> {
  const [row] = await db
    .select({ backup: backups, environment: environments })
    .from(backups)
    .innerJoin(environments, eq(backups.environmentId, environments.id))
    .where(eq(backups.id, id));
  if (!row) return undefined;
  const [withFileRows] = await withFiles(db, [row.backup]);
  return withFileRows && { ...withFileRows, environment: row.environment };
}
