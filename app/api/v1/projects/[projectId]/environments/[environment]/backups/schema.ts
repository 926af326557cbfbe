import { z } from "zod";

import { backupOrigin, backupStatus } from "@/lib/db/schema";

export const listBackupsQuerySchema = z.object({
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(25),
  status: z.enum(backupStatus.enumValues).optional(),
  origin: z.enum(backupOrigin.enumValues).optional(),
});

export type ListBackupsQuery = z.infer<typeof listBackupsQuerySchema>;
