import { z } from "zod";

import { backupOrigin, backupStatus, dbEngine } from "@/lib/db/schema";

const pageSize = z.coerce.number().int().min(1).max(100);

/**
 * GET query: Cloud 66's page numbers (`page`, `per_page`) and `db_type`
 * filter, beside the console's keyset `cursor` (with `limit`, the older name
 * of `per_page`) and its `status` and `origin` filters.
 */
export const listBackupsQuerySchema = z
  .object({
    cursor: z
      .string()
      .max(200)
      .optional()
      .meta({ description: "Where the page starts: `pagination.next_cursor` of the previous page. Fast at any depth; not with `page`." }),
    page: z.coerce.number().int().min(1).max(1_000_000).optional().meta({ description: "Page number, from 1 (Cloud 66 style). Not with `cursor`." }),
    per_page: pageSize.optional().meta({ description: "Backups per page, 1 to 100 (default 25)." }),
    limit: pageSize.optional().meta({ description: "The same as `per_page`." }),
    status: z.enum(backupStatus.enumValues).optional(),
    origin: z.enum(backupOrigin.enumValues).optional(),
    db_type: z.enum(dbEngine.enumValues).optional().meta({ description: "Only backups of this database type." }),
  })
  .refine((q) => !(q.page !== undefined && q.cursor !== undefined), { message: "use either page or cursor, not both", path: ["page"] })
  .refine((q) => q.per_page === undefined || q.limit === undefined || q.per_page === q.limit, {
    message: "per_page and limit are the same setting; send one",
    path: ["per_page"],
  });

export const DEFAULT_PAGE_SIZE = 25;

export type ListBackupsQuery = z.infer<typeof listBackupsQuerySchema>;

/** POST body, as Trove's create: an optional name and description; no body at all is fine too. */
export const createBackupSchema = z.strictObject({
  name: z.string().trim().min(1).max(200).optional(),
  description: z.string().trim().max(2000).optional(),
});

export type CreateBackupBody = z.infer<typeof createBackupSchema>;
