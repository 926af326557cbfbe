import { z } from "zod";

import { backupOrigin, backupStatus } from "@/lib/db/schema";

export const listBackupsQuerySchema = z.object({
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(25),
  status: z.enum(backupStatus.enumValues).optional(),
  origin: z.enum(backupOrigin.enumValues).optional(),
});

export type ListBackupsQuery = z.infer<typeof listBackupsQuerySchema>;

/** POST body, as Trove's create: an optional name and description; no body at all is fine too. */
export const createBackupSchema = z.strictObject({
  name: z.string().trim().min(1).max(200).optional(),
  description: z.string().trim().max(2000).optional(),
});

export type CreateBackupBody = z.infer<typeof createBackupSchema>;
