import { and, eq, lt, sql } from "drizzle-orm";

import type { Db } from "../client";
import { environmentLocks } from "../schema";
import type { EnvironmentLock } from "../schema";

export type LockOperation = EnvironmentLock["operation"];

export type AcquireResult = { acquired: true; lock: EnvironmentLock } | { acquired: false; heldBy: EnvironmentLock };

/**
 * Takes the environment's one operation slot. A single INSERT … ON CONFLICT
 * decides between racing callers, so two instances can never both win; an
 * expired lock (its holder died) is taken over in the same statement.
 */
export async function acquireEnvironmentLock(
  db: Db,
  input: { environmentId: string; operation: LockOperation; holder: string; backupId?: string; ttlMs: number },
): Promise<AcquireResult> {
  const expiresAt = new Date(Date.now() + input.ttlMs);
  const [lock] = await db
    .insert(environmentLocks)
    .values({
      environmentId: input.environmentId,
      operation: input.operation,
      holder: input.holder,
      backupId: input.backupId,
      expiresAt,
    })
    .onConflictDoUpdate({
      target: environmentLocks.environmentId,
      set: {
        operation: input.operation,
        holder: input.holder,
        backupId: input.backupId ?? null,
        acquiredAt: sql`now()`,
        expiresAt,
      },
      setWhere: lt(environmentLocks.expiresAt, sql`now()`),
    })
    .returning();
  if (lock) return { acquired: true, lock };
  const [heldBy] = await db.select().from(environmentLocks).where(eq(environmentLocks.environmentId, input.environmentId));
  if (!heldBy) return acquireEnvironmentLock(db, input); // released between the two statements
  return { acquired: false, heldBy };
}

/** Extends a held lock; false if it was lost (expired and taken over). */
export async function renewEnvironmentLock(
  db: Db,
  { environmentId, holder, ttlMs }: { environmentId: string; holder: string; ttlMs: number },
): Promise<boolean> {
  const rows = await db
    .update(environmentLocks)
    .set({ expiresAt: new Date(Date.now() + ttlMs) })
    .where(and(eq(environmentLocks.environmentId, environmentId), eq(environmentLocks.holder, holder)))
    .returning({ environmentId: environmentLocks.environmentId });
  return rows.length > 0;
}

export async function releaseEnvironmentLock(db: Db, { environmentId, holder }: { environmentId: string; holder: string }): Promise<void> {
  await db.delete(environmentLocks).where(and(eq(environmentLocks.environmentId, environmentId), eq(environmentLocks.holder, holder)));
}

export async function getEnvironmentLock(db: Db, { environmentId }: { environmentId: string }) {
  const [lock] = await db.select().from(environmentLocks).where(eq(environmentLocks.environmentId, environmentId));
  if (!lock || lock.expiresAt.getTime() < Date.now()) return undefined;
  return lock;
}
