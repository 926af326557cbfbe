import { z } from "zod";

/** POST body: the target environment (default: the backup's own) and, for production, its name typed again. */
export const restoreBackupSchema = z.strictObject({
  environment: z.string().trim().min(1).max(30).optional(),
  confirm: z.string().max(100).optional(),
});

export type RestoreBackupBody = z.infer<typeof restoreBackupSchema>;
