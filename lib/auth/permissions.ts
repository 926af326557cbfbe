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
}

/** How the audit log names the kind of actor: a token's requests are told apart from the browser's. */
export function auditActorType(actor: Pick<Actor, "kind">): "user" | "token" {
  return actor.kind;
}

type EnvironmentRef = Pick<Environment, "id" | "isProduction">;

export function roleIn(actor: Actor, environment: Pick<Environment, "id">): EnvironmentRole | undefined {
  return actor.roles.get(environment.id);
}

export function canViewEnvironment(actor: Actor, environment: EnvironmentRef): boolean {
  return roleIn(actor, environment) !== undefined;
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

/** "Only production environment administrators can download backups"; elsewhere members may too. */
export function canDownloadBackup(actor: Actor, environment: EnvironmentRef): boolean {
  return environment.isProduction ? canAdministerEnvironment(actor, environment) : canViewEnvironment(actor, environment);
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
  return canAdministerEnvironment(actor, environment);
}
