import { z } from "zod";
import "zod-openapi";

import { backupFileKind, backupOrigin, backupStatus, dbEngine, environmentRole, restoreStatus, uploadStatus, verifyStatus } from "@/lib/db/schema";
import { ERROR_STATUS } from "@/lib/errors";

/*
 * The shapes of what the API answers, for the OpenAPI document. Request
 * bodies and queries come from the routes' own schema.ts files; these are
 * the responses, written from the serializers (lib/backups/serialize.ts,
 * lib/backups/restore/serialize.ts, lib/tokens/view.ts, lib/uploads/view.ts,
 * lib/environments/settings.ts). The contract test checks real answers
 * against them, so a serializer that drifts fails it.
 */

const dateTime = z.iso.datetime({ offset: true });
const nullableDateTime = dateTime.nullable();

export const errorSchema = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(ERROR_STATUS) as [keyof typeof ERROR_STATUS, ...(keyof typeof ERROR_STATUS)[]]),
      message: z.string().meta({ description: "What went wrong, written for people." }),
      details: z.unknown().optional().meta({ description: "For validation errors: `[{ field, message }]`." }),
    }),
  })
  .meta({ id: "Error", description: "Every error: one code, one message for people." });

export const backupFileSchema = z
  .object({
    kind: z.enum(backupFileKind.enumValues),
    name: z.string().meta({ example: "database.gz" }),
    size: z.number().int().nonnegative(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    download_url: z
      .string()
      .meta({ description: "The Liferay download path, relative to the console.", example: "/backup/download/database/acme-lqgqnewltbexuewymq-201910031723" }),
  })
  .meta({ id: "BackupFile" });

const progressSchema = z.object({
  bytes: z.number().int().nonnegative(),
  total_bytes: z.number().int().nonnegative().nullable(),
});

export const backupSchema = z
  .object({
    id: z.string().meta({ example: "acme-lqgqnewltbexuewymq-201910031723" }),
    project: z.string(),
    environment: z.string(),
    name: z.string().nullable(),
    description: z.string().nullable(),
    origin: z.enum(backupOrigin.enumValues),
    status: z.enum(backupStatus.enumValues),
    status_reason: z.string().nullable(),
    progress: progressSchema,
    verify_status: z.enum(verifyStatus.enumValues),
    verify_result: z.string().nullable(),
    restore_status: z.enum(restoreStatus.enumValues),
    db_type: z.enum(dbEngine.enumValues).nullable(),
    created_by: z.string(),
    created_at: dateTime,
    started_at: nullableDateTime,
    completed_at: nullableDateTime,
    files: z.array(backupFileSchema),
    pinned: z.boolean().meta({ description: "A pinned backup is deleted by no retention rule, nor by hand, until it is unpinned." }),
    pinned_by: z.string().nullable(),
    pinned_at: nullableDateTime,
  })
  .meta({ id: "Backup", description: "A restore point: a database dump and a volume archive." });

export const manifestSchema = z
  .object({
    version: z.literal(1),
    backupId: z.string(),
    createdAt: z.string(),
    createdBy: z.string(),
    origin: z.enum(backupOrigin.enumValues),
    parentId: z.string().nullable(),
    database: z.object({
      engine: z.enum(dbEngine.enumValues).nullable(),
      serverVersion: z.string().nullable(),
      dumpTool: z.string().nullable(),
    }),
    files: z.array(z.object({ kind: z.enum(backupFileKind.enumValues), name: z.string(), size: z.number().int(), sha256: z.string() })),
  })
  .meta({ id: "Manifest", description: "Written when a backup completes: sizes and SHA-256 of each file, engine and versions." });

export const restoreSchema = z
  .object({
    id: z.string(),
    backup_id: z.string().nullable(),
    project: z.string(),
    environment: z.string().meta({ description: "The target: the environment restored into." }),
    status: z.enum(["queued", "running", "completed", "failed"]),
    status_reason: z.string().nullable(),
    stage: z.string().nullable(),
    progress: progressSchema,
    created_by: z.string(),
    created_at: dateTime,
    started_at: nullableDateTime,
    completed_at: nullableDateTime,
  })
  .meta({ id: "Restore" });

export const environmentSchema = z
  .object({
    project: z.string(),
    name: z.string(),
    display_name: z.string(),
    production: z.boolean(),
    role: z
      .enum([...environmentRole.enumValues, "operator"])
      .meta({ description: "The caller's role; `operator` for an installation operator without a role here." }),
    db_type: z.enum(dbEngine.enumValues).nullable(),
  })
  .meta({ id: "Environment" });

export const environmentSettingsSchema = z
  .object({
    project: z.string(),
    environment: z.string(),
    dbEngine: z.enum(dbEngine.enumValues).nullable(),
    dbHost: z.string().nullable(),
    dbPort: z.number().int().nullable(),
    dbName: z.string().nullable(),
    dbUser: z.string().nullable(),
    hasPassword: z.boolean(),
    volumePath: z.string().nullable(),
    scheduleCron: z.string().nullable(),
    nextScheduledRun: nullableDateTime,
    retentionKeepCount: z.number().int().nullable(),
    retentionDays: z.number().int().nullable(),
    retentionKeepLast: z.number().int().nullable(),
    retentionKeepHourly: z.number().int().nullable(),
    retentionKeepDaily: z.number().int().nullable(),
    retentionKeepWeekly: z.number().int().nullable(),
    retentionKeepMonthly: z.number().int().nullable(),
    retentionKeepYearly: z.number().int().nullable(),
    excludedTables: z.array(z.string()),
    databasesToIgnore: z.array(z.string()),
    sourcesVisible: z.boolean(),
    sourceConfigured: z.object({ database: z.boolean(), volume: z.boolean() }),
    canChangeSources: z.boolean(),
    canChangePolicy: z.boolean(),
  })
  .meta({
    id: "EnvironmentSettings",
    description:
      "An environment's backup settings; the database password only as `hasPassword`. The sources (database connection fields and `volumePath`) are shown to operators only (`sourcesVisible`); to others they are null.",
  });

export const tokenSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    prefix: z.string(),
    scope: z.object({ projectId: z.string(), environment: z.string() }).nullable(),
    createdAt: dateTime,
    expiresAt: nullableDateTime,
    lastUsedAt: nullableDateTime,
    revokedAt: nullableDateTime,
    status: z.enum(["active", "expired", "revoked"]),
  })
  .meta({ id: "Token", description: "A personal API token as its owner sees it: never the token itself." });

const uploadSchema = z.object({
  id: z.string(),
  kind: z.enum(backupFileKind.enumValues),
  fileName: z.string(),
  size: z.number().int(),
  partSize: z.number().int(),
  partCount: z.number().int(),
  sha256: z.string().nullable(),
  partUrl: z.string().meta({ description: "Where each part goes: replace `{partNumber}` (1-based)." }),
  uploadedParts: z.array(z.object({ partNumber: z.number().int(), size: z.number().int(), sha256: z.string() })),
  uploadedBytes: z.number().int(),
});

export const uploadSessionSchema = z
  .object({
    id: z.string(),
    status: z.enum(uploadStatus.enumValues),
    statusReason: z.string().nullable(),
    backupId: z.string().nullable(),
    verification: z.object({ status: z.string(), result: z.string().nullable() }).nullable(),
    projectId: z.string(),
    environment: z.string(),
    createdBy: z.string(),
    createdAt: dateTime,
    expiresAt: dateTime,
    parallelParts: z.number().int(),
    uploads: z.array(uploadSchema),
  })
  .meta({ id: "UploadSession", description: "An Upload Backup in progress: resume from `uploadedParts`." });

export const storedPartSchema = z.object({ partNumber: z.number().int(), size: z.number().int(), sha256: z.string() }).meta({ id: "StoredPart" });

export const liferayUploadResultSchema = z
  .object({
    backupId: z.string(),
    project: z.string(),
    environment: z.string(),
    status: z.literal("completed"),
    verifyStatus: z.string(),
    verifyResult: z.string().nullable(),
    files: z.array(z.object({ kind: z.enum(backupFileKind.enumValues), fileName: z.string(), size: z.number().int(), sha256: z.string() })),
  })
  .meta({ id: "LiferayUploadResult" });

/** Cloud 66's `pagination` object, plus the keyset cursor the console walks with. */
export const paginationSchema = z
  .object({
    previous: z.number().int().nullable().meta({ description: "The previous page number, or null on the first." }),
    next: z.number().int().nullable().meta({ description: "The next page number, or null on the last." }),
    current: z.number().int().meta({ description: "This page's number (for a cursor: the page it starts in)." }),
    per_page: z.number().int(),
    count: z.number().int().meta({ description: "How many backups match, on all pages." }),
    pages: z.number().int(),
    next_cursor: z.string().nullable().meta({ description: "Pass as `cursor` for the next page; null on the last." }),
  })
  .meta({ id: "Pagination" });

export const backupTaskResponseSchema = z
  .object({
    db_type: z.enum(dbEngine.enumValues).nullable().meta({ description: "Read-only: the environment's database engine." }),
    frequency: z.string().nullable().meta({ description: "Cron, five fields, UTC; null: no schedule.", example: "0 */1 * * *" }),
    keep_count: z.number().int().nullable(),
    keep_days: z.number().int().nullable(),
    gzip: z.literal(true),
    excluded_tables: z.array(z.string()),
    run_on_replica_server: z.literal(false),
  })
  .meta({ id: "BackupTask", description: "Cloud 66's backup task fields over the environment's schedule and retention." });

export const signedUrlSchema = z
  .object({
    url: z.url().meta({ description: "Works with no other credentials until `expires_at`." }),
    expires_at: dateTime,
  })
  .meta({ id: "SignedFileUrl" });

export const healthSchema = z.object({ status: z.enum(["ok", "unavailable"]), database: z.enum(["pglite", "postgres"]).optional() }).meta({ id: "Health" });

const retentionRule = z.enum(["keep_count", "keep_days", "keep_rules"]).meta({
  description: "Why a backup expires: outside keep count, outside keep days, or (with neither set) kept by none of the other rules.",
});

export const keepReasonSchema = z
  .object({
    rule: z.enum(["newest", "pinned", "keep_count", "keep_days", "keep_last", "hourly", "daily", "weekly", "monthly", "yearly", "no_rules"]),
    label: z.string().meta({ example: "monthly · 2026-11" }),
    period: z.string().optional().meta({ description: "A tier's UTC period: `2026-11-29 14:00`, `2026-11-29`, `2026-W48`, `2026-11` or `2026`." }),
  })
  .meta({ id: "KeepReason", description: "One reason the retention rules keep a backup." });

/** A backup as the list answers it: with why retention keeps it (lib/backups/retention/explain.ts). */
export const listedBackupSchema = backupSchema
  .extend({
    retention: z.object({
      kept_by: z.array(keepReasonSchema),
      expires: retentionRule.nullable().meta({ description: "Set when the rules no longer keep the backup: the next retention run deletes it." }),
    }),
  })
  .meta({ id: "ListedBackup" });

const retentionSettings = z.object({
  retentionKeepCount: z.number().int().nullable(),
  retentionDays: z.number().int().nullable(),
  retentionKeepLast: z.number().int().nullable(),
  retentionKeepHourly: z.number().int().nullable(),
  retentionKeepDaily: z.number().int().nullable(),
  retentionKeepWeekly: z.number().int().nullable(),
  retentionKeepMonthly: z.number().int().nullable(),
  retentionKeepYearly: z.number().int().nullable(),
});

export const retentionPreviewSchema = z
  .object({
    policy: retentionSettings.meta({ description: "The policy judged: the proposal, with the stored value of each field it left out." }),
    delete_count: z.number().int().nonnegative(),
    deletes: z
      .array(z.object({ id: z.string(), status: z.enum(backupStatus.enumValues), created_at: dateTime, rule: retentionRule }))
      .meta({ description: "The backups it would delete, oldest first (at most 200)." }),
    keep_count: z.number().int().nonnegative().meta({ description: "How many completed and failed backups it keeps." }),
  })
  .meta({ id: "RetentionPreview" });

export const backupHistorySchema = z
  .object({
    days: z.number().int(),
    from: dateTime,
    to: dateTime,
    points: z.array(
      z.object({
        id: z.string(),
        status: z.enum(backupStatus.enumValues),
        origin: z.enum(backupOrigin.enumValues),
        created_at: dateTime,
        duration_seconds: z.number().nonnegative().nullable().meta({ description: "From start to completion or failure; null while it runs." }),
        database_bytes: z.number().int().nonnegative().nullable(),
        volume_bytes: z.number().int().nonnegative().nullable(),
      }),
    ),
    truncated: z.boolean().meta({ description: "More than 2,000 backups fell in the period; the oldest are left out." }),
  })
  .meta({ id: "BackupHistory" });
