import { and, desc, eq, gte, sql } from "drizzle-orm";

import type { Db } from "@/lib/db/client";
import { backupFiles, backups } from "@/lib/db/schema";
import type { Backup } from "@/lib/db/schema";

/*
 * An environment's backups over time, for the charts on its Backups page:
 * when each was made, how long it took, how large its two files are, and
 * whether it completed. One grouped query over the (environment,
 * created_at) index, newest first, at most `limit` rows.
 */

export interface HistoryPoint {
  id: string;
  status: Backup["status"];
  origin: Backup["origin"];
  created_at: string;
  /** From start (or creation, for an upload) to completion or failure; null while it runs. */
  duration_seconds: number | null;
  database_bytes: number | null;
  volume_bytes: number | null;
}

export interface BackupHistory {
  days: number;
  from: string;
  to: string;
  /** Oldest first, as a chart draws them. */
  points: HistoryPoint[];
  /** More backups than `limit` fell in the period: the oldest are left out. */
  truncated: boolean;
}

export const HISTORY_MAX_POINTS = 2_000;

export async function backupHistory(
  db: Db,
  { environmentId, days, now = new Date(), limit = HISTORY_MAX_POINTS }: { environmentId: string; days: number; now?: Date; limit?: number },
): Promise<BackupHistory> {
  const from = new Date(now.getTime() - days * 24 * 60 * 60 * 1000);
  const size = (kind: "database" | "volume") => sql<number | null>`max(${backupFiles.sizeBytes}) filter (where ${backupFiles.kind} = ${kind})`.mapWith(Number);
  const rows = await db
    .select({
      id: backups.id,
      status: backups.status,
      origin: backups.origin,
      createdAt: backups.createdAt,
      startedAt: backups.startedAt,
      completedAt: backups.completedAt,
      databaseBytes: size("database"),
      volumeBytes: size("volume"),
    })
    .from(backups)
    .leftJoin(backupFiles, eq(backupFiles.backupId, backups.id))
    .where(and(eq(backups.environmentId, environmentId), gte(backups.createdAt, from)))
    .groupBy(backups.id)
    .orderBy(desc(backups.createdAt), desc(backups.id))
    .limit(limit + 1);
  const points = rows.slice(0, limit).map((row): HistoryPoint => {
    const finished = row.status === "completed" || row.status === "failed";
    const began = row.startedAt ?? row.createdAt;
    return {
      id: row.id,
      status: row.status,
      origin: row.origin,
      created_at: row.createdAt.toISOString(),
      duration_seconds: finished && row.completedAt ? Math.max(0, (row.completedAt.getTime() - began.getTime()) / 1000) : null,
      database_bytes: row.databaseBytes,
      volume_bytes: row.volumeBytes,
    };
  });
  return { days, from: from.toISOString(), to: now.toISOString(), points: points.reverse(), truncated: rows.length > limit };
}
