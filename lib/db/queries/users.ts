import { eq } from "drizzle-orm";

import type { Db } from "../client";
import { users } from "../schema";
import type { User } from "../schema";

/** Records who signed in and with which groups, so their API tokens act with the same roles. */
export async function upsertUserOnSignIn(db: Db, input: { id: string; email: string; name: string | null; groups: string[] }): Promise<User> {
  const now = new Date();
  const [user] = await db
    .insert(users)
    .values({ ...input, lastSignInAt: now })
    .onConflictDoUpdate({
      target: users.id,
      set: { email: input.email, name: input.name, groups: input.groups, lastSignInAt: now },
    })
    .returning();
  if (!user) throw new Error("upsert returned no row");
  return user;
}

export async function getUserById(db: Db, { id }: { id: string }): Promise<User | undefined> {
  const [user] = await db.select().from(users).where(eq(users.id, id));
  return user;
}
