import { eq } from "drizzle-orm";

import type { Db } from "./client";
import { environments, projects, roleBindings } from "./schema";

/** The groups the development sign-in's demo users carry (lib/auth/dev-oidc/demo-users.ts). */
export const DEMO_GROUPS = {
  admins: "acme-admins",
  members: "acme-members",
  nonprodAdmins: "acme-nonprod-admins",
} as const;

const DEMO_ENVIRONMENTS = [
  { name: "prd", displayName: "Live site", isProduction: true },
  { name: "uat", displayName: "User acceptance", isProduction: false },
  { name: "dev", displayName: "Development", isProduction: false },
] as const;

/**
 * The embedded default's demo project: `acme` with `prd`, `uat` and `dev`, and
 * role bindings for the demo users' groups. Safe to run on every start.
 */
export async function seedDemoProject(db: Db): Promise<void> {
  await db.insert(projects).values({ id: "acme", name: "Acme" }).onConflictDoNothing();
  await db
    .insert(environments)
    .values(
      DEMO_ENVIRONMENTS.map((env) => ({
        projectId: "acme",
        ...env,
        dbEngine: "postgresql" as const,
        scheduleCron: env.isProduction ? "0 3 * * *" : null,
        retentionKeepCount: env.isProduction ? 30 : 10,
      })),
    )
    .onConflictDoNothing();

  const envIds = new Map((await db.select().from(environments).where(eq(environments.projectId, "acme"))).map((e) => [e.name, e.id]));
  const bindings = [
    { groupName: DEMO_GROUPS.admins, environmentId: null, role: "admin" as const },
    { groupName: DEMO_GROUPS.members, environmentId: null, role: "member" as const },
    { groupName: DEMO_GROUPS.nonprodAdmins, environmentId: null, role: "member" as const },
    { groupName: DEMO_GROUPS.nonprodAdmins, environmentId: envIds.get("uat") ?? null, role: "admin" as const },
    { groupName: DEMO_GROUPS.nonprodAdmins, environmentId: envIds.get("dev") ?? null, role: "admin" as const },
  ];
  await db
    .insert(roleBindings)
    .values(bindings.map((b) => ({ ...b, projectId: "acme" })))
    .onConflictDoNothing();
}
