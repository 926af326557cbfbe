import { z } from "zod";

/** GET query: how many days back, counted from now. */
export const backupHistoryQuerySchema = z.strictObject({
  days: z.coerce.number().int().min(1).max(366).default(30).meta({ description: "Days back from now, 1 to 366 (default 30)." }),
});
