import { sql } from "drizzle-orm";

import { getDatabaseHandle } from "@/lib/db/client";
import { logger } from "@/lib/logger";

export const dynamic = "force-dynamic";

/** Liveness and readiness in one: the load balancer's and Playwright's signal that the console can serve. */
export async function GET() {
  try {
    const handle = getDatabaseHandle();
    await handle.db.execute(sql`select 1`);
    return Response.json({ status: "ok", database: handle.kind });
  } catch (err) {
    logger.error({ err }, "health check failed");
    return Response.json({ status: "unavailable" }, { status: 503 });
  }
}
