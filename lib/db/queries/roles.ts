import { inArray } from "drizzle-orm";

import type { Db } from "../client";
import { environments, roleBindings } from "../schema";
import type { EnvironmentRole } from "../schema";

const RANK: Record<EnvironmentRole, number> = { member: 1, admin: 2 };

/**
 * The role a set of identity-provider groups has in each environment. A
 * binding without an environment covers every environment of its project;
 * where several bindings apply, the strongest role wins.
 */
export async function resolveEnvironmentRoles(db: Db, { groups }: { groups: readonly string[] }): Promise<Map<string, EnvironmentRole>> {
  const roles = new Map<string, EnvironmentRole>();
  if (groups.length === 0) return roles;
  const bindings = await db
    .select()
    .from(roleBindings)
    .where(inArray(roleBindings.groupName, [...groups]));
  if (bindings.length === 0) return roles;

  const projectWide = bindings.filter((b) => b.environmentId === null);
  const projectEnvironments =
    projectWide.length === 0
      ? []
      : await db
          .select({ id: environments.id, projectId: environments.projectId })
          .from(environments)
          .where(inArray(environments.projectId, [...new Set(projectWide.map((b) => b.projectId))]));

  const grant = (environmentId: string, role: EnvironmentRole) => {
    const current = roles.get(environmentId);
    if (!current || RANK[role] > RANK[current]) roles.set(environmentId, role);
  };
  for (const binding of bindings) {
    if (binding.environmentId) {
      grant(binding.environmentId, binding.role);
    } else {
      for (const env of projectEnvironments) if (env.projectId === binding.projectId) grant(env.id, binding.role);
    }
  }
  return roles;
}
