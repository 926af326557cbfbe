import { Readable } from "node:stream";

import { generateBackupId } from "@/lib/backups/backup-id";
import { backupObjectKey, FILE_NAMES } from "@/lib/backups/engine/create-backup";
import type { Db } from "@/lib/db/client";
import { backupFiles, backups } from "@/lib/db/schema";
import type { Backup, Environment } from "@/lib/db/schema";
import type { Storage } from "@/lib/storage/types";

/**
 * Tests only: a backup row as the engine leaves it, made `daysAgo` before
 * `now`. A completed one has both files in storage and in backup_files.
 */
export async function insertTestBackup(
  deps: { db: Db; storage: Storage },
  input: {
    environment: Pick<Environment, "id" | "projectId">;
    now: Date;
    daysAgo: number;
    status?: Backup["status"];
    origin?: Backup["origin"];
    pinned?: boolean;
  },
): Promise<Backup> {
  const createdAt = new Date(input.now.getTime() - input.daysAgo * 24 * 60 * 60 * 1000);
  const status = input.status ?? "completed";
  const [backup] = await deps.db
    .insert(backups)
    .values({
      id: generateBackupId(input.environment.projectId, createdAt),
      environmentId: input.environment.id,
      origin: input.origin ?? "scheduled",
      status,
      createdBy: "scheduler",
      createdByType: "system",
      createdAt,
      completedAt: status === "completed" || status === "failed" ? createdAt : null,
      ...(input.pinned ? { pinned: true, pinnedBy: "admin@acme.test", pinnedAt: input.now } : {}),
    })
    .returning();
  if (status === "completed") {
    for (const kind of ["database", "volume"] as const) {
      const key = backupObjectKey(backup!.id, kind);
      const info = await deps.storage.putObject(key, Readable.from([Buffer.from(`${kind} of ${backup!.id}`)]));
      await deps.db
        .insert(backupFiles)
        .values({ backupId: backup!.id, kind, fileName: FILE_NAMES[kind], sizeBytes: info.size, sha256: "0".repeat(64), storageKey: key });
    }
  }
  return backup!;
}
