import { z } from "zod";

/*
 * Cloud 66's "new backup task" fields, mapped onto an environment's settings
 * (lib/environments/settings.ts validates them again, with the settings page).
 */

const tableName = z.string().trim().min(1).max(128);

/** Cloud 66 sends `excluded_tables` as one string (`my_log_table`, or several with commas); a list is fine too. */
const excludedTables = z.union([
  z.array(tableName).max(500),
  z
    .string()
    .max(64_000)
    .transform((value) =>
      value
        .split(",")
        .map((t) => t.trim())
        .filter(Boolean),
    ),
]);

/**
 * PUT body: the fields to change; absent ones keep their value. `db_type`,
 * `gzip` and `run_on_replica_server` are accepted so Cloud 66 scripts work,
 * but only with the values Lifeboat has (see the route).
 */
export const updateBackupTaskSchema = z.strictObject({
  db_type: z.string().max(200).optional(),
  frequency: z.string().trim().max(200).nullable().optional(),
  keep_count: z.number().int().min(1).max(100_000).nullable().optional(),
  keep_days: z.number().int().min(1).max(36_500).nullable().optional(),
  gzip: z.boolean().optional(),
  excluded_tables: excludedTables.optional(),
  run_on_replica_server: z.boolean().optional(),
});

export type UpdateBackupTaskBody = z.infer<typeof updateBackupTaskSchema>;

/** What GET and PUT answer. */
export const backupTaskSchema = z.object({
  db_type: z.enum(["postgresql", "mysql"]).nullable(),
  frequency: z.string().nullable(),
  keep_count: z.number().int().nullable(),
  keep_days: z.number().int().nullable(),
  gzip: z.literal(true),
  excluded_tables: z.array(z.string()),
  run_on_replica_server: z.literal(false),
});

export type BackupTaskJson = z.infer<typeof backupTaskSchema>;
