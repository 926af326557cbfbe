import type { Db } from "@/lib/db/client";
import type { Environment, EnvironmentLock } from "@/lib/db/schema";
import { AppError } from "@/lib/errors";

import { environmentLabel } from "./access";
import { getSession } from "./store";

const UPLOAD_HOLDER = /^upload:([0-9a-f-]{36}):/;

/** The lock holder this process uses for a session's backup generation; unique per attempt. */
export function uploadLockHolder(sessionId: string, attempt: string): string {
  return `upload:${sessionId}:${attempt}`;
}

export function sessionIdOfHolder(holder: string): string | null {
  return UPLOAD_HOLDER.exec(holder)?.[1] ?? null;
}

function clock(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** Who runs what: whatever of that the lock row can tell. */
async function describeHolder(db: Db, lock: EnvironmentLock): Promise<string> {
  const since = `started ${clock(lock.acquiredAt)}`;
  if (lock.operation === "upload") {
    const sessionId = sessionIdOfHolder(lock.holder);
    const session = sessionId ? await getSession(db, { sessionId }) : undefined;
    return `a backup is being generated from an upload${session ? ` by ${session.createdBy}` : ""} (${since})`;
  }
  const by = /[^\s:/]+@[^\s:/]+/.exec(lock.holder)?.[0];
  const what = lock.operation === "restore" ? "a restore" : "a backup";
  const of = lock.backupId ? ` of ${lock.backupId}` : "";
  return `${what}${lock.operation === "restore" ? of : lock.backupId ? ` (${lock.backupId})` : ""}${by ? ` started by ${by}` : ""} is running (${since})`;
}

/**
 * The 409 for a busy environment, in the seeds' words: while a backup is
 * generated from an upload, no other backup can be generated or restored.
 */
export async function environmentBusyError(db: Db, environment: Environment, lock: EnvironmentLock): Promise<AppError> {
  const holder = await describeHolder(db, lock);
  return new AppError(
    "conflict",
    `${environmentLabel(environment)} is busy: ${holder}. Only one backup, upload or restore runs in an environment at a time; try again when it has finished.`,
    { lock: { operation: lock.operation, backupId: lock.backupId, acquiredAt: lock.acquiredAt.toISOString() } },
  );
}
