import { canAdministerEnvironment, canUploadBackup, isEnvironmentVisible } from "@/lib/auth/permissions";
import type { Actor } from "@/lib/auth/permissions";
import type { Environment, UploadSession } from "@/lib/db/schema";
import { AppError } from "@/lib/errors";

/** How messages name an environment: `acme-prd`, as in backup IDs and host names. */
export function environmentLabel(environment: Pick<Environment, "projectId" | "name">): string {
  return `${environment.projectId}-${environment.name}`;
}

/**
 * The environment as this actor may see it, or the same 404 a missing one
 * gets — so a session id never reveals an environment the actor cannot see.
 */
export function assertEnvironmentVisible(actor: Actor, environment: Environment, options: { productionOnly: boolean }): void {
  if (!isEnvironmentVisible(actor, environment, options)) throw new AppError("not_found", "No such upload.");
}

/** Only the person who started a session, or an administrator of its environment, may add to it, finish it or cancel it. */
export function canTouchUploadSession(actor: Actor, environment: Environment, session: Pick<UploadSession, "createdBy">): boolean {
  if (!canUploadBackup(actor, environment)) return false;
  return session.createdBy === actor.email || canAdministerEnvironment(actor, environment);
}

export function assertCanTouchUploadSession(actor: Actor, environment: Environment, session: Pick<UploadSession, "createdBy">): void {
  if (!canTouchUploadSession(actor, environment, session)) {
    throw new AppError(
      "forbidden",
      `Only ${session.createdBy}, who started this upload, or an administrator of ${environmentLabel(environment)} may change it.`,
    );
  }
}
