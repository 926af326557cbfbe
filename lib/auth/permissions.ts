import type { Environment, EnvironmentRole } from "@/lib/db/schema";

/** Whoever is acting: a signed-in person, or an API token acting for one. */
export interface Actor {
  kind: "user" | "token";
  /** The person's id; for a token, its owner's. */
  id: string;
  email: string;
  name: string | null;
  groups: string[];
  /** Environment id → the actor's role there; environments not in the map are invisible to them. */
  roles: ReadonlyMap<string, EnvironmentRole>;
  /** Set when a token acts: which one, for the audit log. */
  tokenId?: string;
  /** A token limited to one environment; `roles` then holds that one environment at most. */
  scopeEnvironmentId?: string | null;
  /**
   * An installation operator (a member of LIFEBOAT_OPERATOR_GROUPS): sees
   * every environment and sets its sources, the database connection and the
   * volume folder. Not a role in any environment: downloading, restoring or
   * making backups still takes one.
   */
  operator: boolean;
  /** Set for a browser session: its server-side record (lib/auth/sessions.ts), which signed links made by it are tied to. */
  sessionId?: string;
}

/** Whether the groups include one of the operator groups. */
export function isOperatorGroupMember(groups: readonly string[], operatorGroups: readonly string[]): boolean {
  return groups.some((group) => operatorGroups.includes(group));
}

/** How the audit log names the kind of actor: a token's requests are told apart from the browser's. */
export function auditActorType(actor: Pick<Actor, "kind">): "user" | "token" {
  return actor.kind;
}

type EnvironmentRef = Pick<Environment, "id" | "isProduction">;

export function roleIn(actor: Actor, environment: Pick<Environment, "id">): EnvironmentRole | undefined {
  return actor.roles.get(environment.id);
}

/** How the console names the actor's standing in an environment: their role, else "operator" for an operator without one. */
export function standingIn(actor: Actor, environment: Pick<Environment, "id">): EnvironmentRole | "operator" | undefined {
  return roleIn(actor, environment) ?? (isOperatorFor(actor, environment) ? "operator" : undefined);
}

/** An operator acts on every environment, except through a token limited to another one. */
export function isOperatorFor(actor: Actor, environment: Pick<Environment, "id">): boolean {
  return actor.operator && (!actor.scopeEnvironmentId || actor.scopeEnvironmentId === environment.id);
}

export function canViewEnvironment(actor: Actor, environment: EnvironmentRef): boolean {
  return roleIn(actor, environment) !== undefined || isOperatorFor(actor, environment);
}

/**
 * Whether the environment exists for this actor at all: they have a role in
 * it, and a production-only deployment shows nothing but production. Anything
 * that fails this answers like a missing environment.
 */
export function isEnvironmentVisible(actor: Actor, environment: EnvironmentRef, { productionOnly }: { productionOnly: boolean }): boolean {
  return canViewEnvironment(actor, environment) && (!productionOnly || environment.isProduction);
}

export function canAdministerEnvironment(actor: Actor, environment: EnvironmentRef): boolean {
  return roleIn(actor, environment) === "admin";
}

/**
 * "Only production environment administrators can download backups";
 * elsewhere members may too. A backup's bytes are the environment's data:
 * being an operator is not enough.
 */
export function canDownloadBackup(actor: Actor, environment: EnvironmentRef): boolean {
  return environment.isProduction ? canAdministerEnvironment(actor, environment) : roleIn(actor, environment) !== undefined;
}

export function canRestoreBackup(actor: Actor, environment: EnvironmentRef): boolean {
  return canAdministerEnvironment(actor, environment);
}

export function canCreateBackup(actor: Actor, environment: EnvironmentRef): boolean {
  return canAdministerEnvironment(actor, environment);
}

export function canUploadBackup(actor: Actor, environment: EnvironmentRef): boolean {
  return canAdministerEnvironment(actor, environment);
}

export function canViewEnvironmentSettings(actor: Actor, environment: EnvironmentRef): boolean {
  return canAdministerEnvironment(actor, environment) || isOperatorFor(actor, environment);
}

/** Pin or unpin a backup: a pinned backup outlives every retention rule, so only those who set the rules may pin. */
export function canPinBackup(actor: Actor, environment: EnvironmentRef): boolean {
  return canAdministerEnvironment(actor, environment);
}

/** Schedule, retention, excluded tables, databases to ignore: how the environment's backups are made and kept. */
export function canChangeBackupPolicy(actor: Actor, environment: EnvironmentRef): boolean {
  return canAdministerEnvironment(actor, environment);
}

/**
 * The database connection and the volume folder decide what Lifeboat's
 * tools read and replace with the server's privileges: infrastructure,
 * set by operators only (docs/security.md).
 */
export function canChangeEnvironmentSources(actor: Actor, environment: EnvironmentRef): boolean {
  return isOperatorFor(actor, environment);
}
