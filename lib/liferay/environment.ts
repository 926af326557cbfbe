import { isEnvironmentVisible } from "@/lib/auth/permissions";
import type { Actor } from "@/lib/auth/permissions";
import type { Db } from "@/lib/db/client";
import { getEnvironmentById } from "@/lib/db/queries/projects";
import { listVisibleEnvironments, requireVisibleEnvironment } from "@/lib/environments/visible";
import type { Environment } from "@/lib/db/schema";
import { AppError } from "@/lib/errors";

/**
 * The Liferay backup service's host name: `backup-<project>-<environment>.<domain>`
 * (e.g. `backup-lfrjoebloggs-prd.lfr.cloud`). Project and environment names
 * have no dashes (see the schema's checks), so the split is unambiguous.
 */
const BACKUP_HOST = /^backup-([a-z][a-z0-9]{1,29})-([a-z][a-z0-9]{0,29})(?:\.|$)/;

export function parseBackupHost(host: string | undefined): { projectId: string; environment: string } | null {
  if (!host) return null;
  // Strip the port (and IPv6 brackets never match the pattern anyway).
  const name = host.trim().toLowerCase().replace(/:\d+$/, "");
  const match = BACKUP_HOST.exec(name);
  return match?.[1] && match[2] ? { projectId: match[1], environment: match[2] } : null;
}

/**
 * Which environment a `POST /backup/upload` goes to: the host name's, as on
 * Liferay Cloud; on any other host (localhost, an IP, the console's own
 * name), the token's environment if it is limited to one, else the
 * production environment of the caller's only project. An environment the
 * caller cannot see answers like a missing one.
 */
export async function resolveUploadEnvironment(
  db: Db,
  { actor, host, productionOnly }: { actor: Actor; host: string | undefined; productionOnly: boolean },
): Promise<Environment> {
  const named = parseBackupHost(host);
  if (named) {
    return requireVisibleEnvironment(actor, named, { db, productionOnly });
  }
  if (actor.scopeEnvironmentId) {
    const environment = await getEnvironmentById(db, { id: actor.scopeEnvironmentId });
    if (!environment || !isEnvironmentVisible(actor, environment, { productionOnly })) {
      throw new AppError("not_found", "The environment this token is limited to no longer exists for you.");
    }
    return environment;
  }
  const visible = await listVisibleEnvironments(actor, { db, productionOnly });
  const projectIds = [...new Set(visible.map((env) => env.projectId))];
  if (projectIds.length === 0) throw new AppError("not_found", "You have no environment to upload a backup to.");
  if (projectIds.length > 1) {
    throw new AppError(
      "bad_request",
      `You have environments in several projects (${projectIds.join(", ")}), so Lifeboat cannot tell where this backup goes. ` +
        "Send it to the host name backup-<project>-<environment>.<domain> (with curl, -H 'Host: backup-acme-prd.example.com' or --connect-to), " +
        "or use a token limited to one environment.",
    );
  }
  const production = visible.find((env) => env.isProduction);
  if (!production) {
    throw new AppError(
      "bad_request",
      `Project ${projectIds[0]} has no production environment you can see; send the backup to the host name backup-${projectIds[0]}-<environment>.<domain>, or use a token limited to one environment.`,
    );
  }
  return production;
}
