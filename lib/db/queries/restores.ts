import { desc, eq } from "drizzle-orm";

import type { Db } from "../client";
import { environments, restores } from "../schema";
import type { Environment, Restore } from "../schema";

export type RestoreStatus = Restore["status"];

/** One restore with the environment it restores into. */
export async function getRestore(db: Db, { id }: { id: string }): Promise<(Restore & { environment: Environment }) | undefined> {
  const [row] = await db
    .select({ restore: restores, environment: environments })
    .from(restores)
    .innerJoin(environments, eq(restores.environmentId, environments.id))
    .where(eq(restores.id, id));
  return row && { ...row.restore, environment: row.environment };
}

/** The restores into one environment, newest first. */
export async function listRestores(db: Db, { environmentId, limit }: { environmentId: string; limit: number }): Promise<Restore[]> {
  return db.select().from(restores).where(eq(restores.environmentId, environmentId)).orderBy(desc(restores.createdAt), desc(restores.id)).limit(limit);
}
