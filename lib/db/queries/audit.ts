import { desc, eq } from "drizzle-orm";

import type { Db } from "../client";
import { auditEvents } from "../schema";
import type { AuditEvent } from "../schema";

export type NewAuditEvent = Omit<typeof auditEvents.$inferInsert, "id" | "at">;

export async function recordAuditEvent(db: Db, event: NewAuditEvent): Promise<AuditEvent> {
  const [row] = await db.insert(auditEvents).values(event).returning();
  if (!row) throw new Error("insert returned no row");
  return row;
}

export async function listAuditEvents(db: Db, { environmentId, limit = 50 }: { environmentId: string; limit?: number }): Promise<AuditEvent[]> {
  return db.select().from(auditEvents).where(eq(auditEvents.environmentId, environmentId)).orderBy(desc(auditEvents.at), desc(auditEvents.id)).limit(limit);
}
