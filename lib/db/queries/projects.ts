import { and, asc, eq, inArray } from "drizzle-orm";

import type { Db } from "../client";
import { environments, projects } from "../schema";
import type { Environment, Project } from "../schema";

export async function listProjects(db: Db): Promise<Project[]> {
  return db.select().from(projects).orderBy(asc(projects.id));
}

export async function getProject(db: Db, { projectId }: { projectId: string }): Promise<Project | undefined> {
  const [project] = await db.select().from(projects).where(eq(projects.id, projectId));
  return project;
}

/** Production first, then by name: the order the console shows them in. */
export async function listEnvironments(
  db: Db,
  { projectIds, productionOnly = false }: { projectIds?: string[]; productionOnly?: boolean } = {},
): Promise<Environment[]> {
  const conditions = [];
  if (projectIds) conditions.push(inArray(environments.projectId, projectIds));
  if (productionOnly) conditions.push(eq(environments.isProduction, true));
  if (projectIds?.length === 0) return [];
  return db
    .select()
    .from(environments)
    .where(conditions.length > 0 ? and(...conditions) : undefined)
    .orderBy(asc(environments.projectId), asc(environments.isProduction), asc(environments.name))
    .then((rows) => rows.sort(byConsoleOrder));
}

function byConsoleOrder(a: Environment, b: Environment): number {
  if (a.projectId !== b.projectId) return a.projectId < b.projectId ? -1 : 1;
  if (a.isProduction !== b.isProduction) return a.isProduction ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export async function getEnvironment(db: Db, { projectId, name }: { projectId: string; name: string }): Promise<Environment | undefined> {
  const [environment] = await db
    .select()
    .from(environments)
    .where(and(eq(environments.projectId, projectId), eq(environments.name, name)));
  return environment;
}

export async function getEnvironmentById(db: Db, { id }: { id: string }): Promise<Environment | undefined> {
  const [environment] = await db.select().from(environments).where(eq(environments.id, id));
  return environment;
}
