import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { Actor } from "@/lib/auth/permissions";
import type { DbHandle } from "@/lib/db/client";
import { getEnvironment } from "@/lib/db/queries/projects";
import { resolveEnvironmentRoles } from "@/lib/db/queries/roles";
import { environments, projects, roleBindings } from "@/lib/db/schema";
import { DEMO_GROUPS, seedDemoProject } from "@/lib/db/seed";
import { createTestDatabase } from "@/lib/db/testing";
import type { AppError } from "@/lib/errors";

import { resolveUploadEnvironment } from "./environment";

async function actorWith(handle: DbHandle, groups: string[], scope?: string): Promise<Actor> {
  let roles = await resolveEnvironmentRoles(handle.db, { groups });
  if (scope) roles = new Map(roles.has(scope) ? [[scope, roles.get(scope)!]] : []);
  return { kind: scope ? "token" : "user", id: "u", email: "u@acme.test", name: null, groups, roles, scopeEnvironmentId: scope ?? null, operator: false };
}

describe("which environment POST /backup/upload goes to", () => {
  let handle: DbHandle;

  beforeAll(async () => {
    handle = await createTestDatabase("pglite");
    await seedDemoProject(handle.db);
    await handle.db.insert(projects).values({ id: "beta", name: "Beta" });
    const [betaPrd] = await handle.db.insert(environments).values({ projectId: "beta", name: "prd", displayName: "Beta live", isProduction: true }).returning();
    await handle.db.insert(roleBindings).values({ groupName: "beta-admins", projectId: "beta", environmentId: betaPrd!.id, role: "admin" });
  });
  afterAll(async () => {
    await handle?.close();
  });

  const resolve = (actor: Actor, host: string) => resolveUploadEnvironment(handle.db, { actor, host, productionOnly: false });

  it("takes the host name's environment, and hides one the caller cannot see", async () => {
    const admin = await actorWith(handle, [DEMO_GROUPS.admins]);
    expect(await resolve(admin, "backup-acme-uat.lfr.example:443")).toMatchObject({ projectId: "acme", name: "uat" });
    const error = (await resolve(admin, "backup-beta-prd.localhost").catch((e: unknown) => e)) as AppError;
    expect(error).toMatchObject({ status: 404 });
  });

  it("on a plain host uses the only project's production environment, or the token's environment", async () => {
    const admin = await actorWith(handle, [DEMO_GROUPS.admins]);
    expect(await resolve(admin, "localhost:3000")).toMatchObject({ projectId: "acme", name: "prd" });
    const dev = (await getEnvironment(handle.db, { projectId: "acme", name: "dev" }))!;
    expect(await resolve(await actorWith(handle, [DEMO_GROUPS.admins], dev.id), "127.0.0.1")).toMatchObject({ name: "dev" });
  });

  it("asks for the host form or a scoped token when the caller has several projects (400)", async () => {
    const both = await actorWith(handle, [DEMO_GROUPS.admins, "beta-admins"]);
    const error = (await resolve(both, "127.0.0.1:3000").catch((e: unknown) => e)) as AppError;
    expect(error).toMatchObject({ status: 400 });
    expect(error.message).toMatch(/several projects \(acme, beta\).*backup-<project>-<environment>.*token limited to one environment/);
    expect(await resolve(both, "backup-beta-prd.example.com")).toMatchObject({ projectId: "beta", name: "prd" });
  });

  it("answers 404 to someone with no environment at all", async () => {
    const nobody = await actorWith(handle, ["nobody"]);
    expect(((await resolve(nobody, "localhost").catch((e: unknown) => e)) as AppError).status).toBe(404);
  });
});
