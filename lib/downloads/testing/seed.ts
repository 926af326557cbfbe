import { createHash } from "node:crypto";
import { Readable } from "node:stream";

import type { SessionUser } from "@/lib/auth/testing";
import type { Db } from "@/lib/db/client";
import { backupFiles, backups } from "@/lib/db/schema";
import type { Backup, BackupFile } from "@/lib/db/schema";
import { DEMO_GROUPS } from "@/lib/db/seed";
import type { Storage } from "@/lib/storage/types";

export { sessionCookie, SESSION_COOKIE } from "@/lib/auth/testing";
export type { SessionUser } from "@/lib/auth/testing";

/** The demo sign-in's people (lib/auth/dev-oidc/demo-users.ts), as their sessions carry them. */
export const DEMO_PEOPLE = {
  admin: { sub: "ada", email: "admin@acme.test", name: "Ada Admin", groups: [DEMO_GROUPS.admins] },
  member: { sub: "max", email: "member@acme.test", name: "Max Member", groups: [DEMO_GROUPS.members] },
  stranger: { sub: "sam", email: "sam@elsewhere.test", name: "Sam Stranger", groups: [] },
} satisfies Record<string, SessionUser>;

export interface SeedFile {
  kind: BackupFile["kind"];
  size: number;
  sha256: string;
  storageKey: string;
}

export function storageKeyFor(backupId: string, kind: BackupFile["kind"]): string {
  return `backups/${backupId}/${kind === "database" ? "database.gz" : "volume.tgz"}`;
}

/** The backup and file rows only; the caller has put (or deliberately not put) the bytes into storage. */
export async function insertBackupRows(
  db: Db,
  input: { id: string; environmentId: string; status?: Backup["status"]; completedAt?: Date; files: SeedFile[] },
): Promise<void> {
  const status = input.status ?? "completed";
  await db.insert(backups).values({
    id: input.id,
    environmentId: input.environmentId,
    origin: "manual",
    status,
    createdBy: "test",
    totalBytes: input.files.reduce((sum, f) => sum + f.size, 0),
    completedAt: status === "completed" ? (input.completedAt ?? new Date()) : null,
  });
  if (input.files.length === 0) return;
  await db.insert(backupFiles).values(
    input.files.map((f) => ({
      backupId: input.id,
      kind: f.kind,
      fileName: f.kind === "database" ? "database.gz" : "volume.tgz",
      sizeBytes: f.size,
      sha256: f.sha256,
      storageKey: f.storageKey,
    })),
  );
}

/** Puts small in-memory files into storage and records them as one completed backup. */
export async function seedBackup(
  db: Db,
  storage: Storage,
  input: { id: string; environmentId: string; status?: Backup["status"]; completedAt?: Date; files: Partial<Record<BackupFile["kind"], Buffer>> },
): Promise<void> {
  const files: SeedFile[] = [];
  for (const [kind, bytes] of Object.entries(input.files) as [BackupFile["kind"], Buffer][]) {
    const storageKey = storageKeyFor(input.id, kind);
    await storage.putObject(storageKey, Readable.from([bytes], { objectMode: false }));
    files.push({ kind, size: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex"), storageKey });
  }
  await insertBackupRows(db, { ...input, files });
}
