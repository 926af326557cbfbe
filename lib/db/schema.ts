import { relations, sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";

/*
 * The whole product's state. Sizes are bigint in "number" mode: JavaScript
 * numbers are exact up to 8 PiB, far beyond any backup file.
 */

export const dbEngine = pgEnum("db_engine", ["postgresql", "mysql"]);
export const backupOrigin = pgEnum("backup_origin", ["scheduled", "manual", "uploaded", "imported"]);
export const backupStatus = pgEnum("backup_status", ["queued", "running", "completed", "failed"]);
export const verifyStatus = pgEnum("verify_status", ["pending", "running", "passed", "warning", "failed"]);
export const restoreStatus = pgEnum("restore_status", ["none", "queued", "running", "completed", "failed"]);
export const backupFileKind = pgEnum("backup_file_kind", ["database", "volume"]);
export const uploadStatus = pgEnum("upload_status", ["open", "completing", "completed", "aborted", "expired", "failed"]);
export const environmentRole = pgEnum("environment_role", ["admin", "member"]);
export const lockOperation = pgEnum("lock_operation", ["backup", "upload", "restore"]);
export const jobStatus = pgEnum("job_status", ["queued", "running", "completed", "failed"]);

const createdAt = () => timestamp("created_at", { withTimezone: true }).notNull().defaultNow();

export const projects = pgTable(
  "projects",
  {
    // The project's slug is the first part of every backup ID, so it has no dashes.
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    createdAt: createdAt(),
  },
  (t) => [check("projects_id_format", sql`${t.id} ~ '^[a-z][a-z0-9]{1,29}$'`)],
);

export const environments = pgTable(
  "environments",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    displayName: text("display_name").notNull(),
    isProduction: boolean("is_production").notNull().default(false),
    dbEngine: dbEngine("db_engine"),
    dbHost: text("db_host"),
    dbPort: integer("db_port"),
    dbName: text("db_name"),
    dbUser: text("db_user"),
    /** Encrypted at rest by the application; never sent back to clients in full. */
    dbPasswordEncrypted: text("db_password_encrypted"),
    volumePath: text("volume_path"),
    scheduleCron: text("schedule_cron"),
    retentionKeepCount: integer("retention_keep_count"),
    retentionDays: integer("retention_days"),
    // Keep-last and grandfather-father-son tiers (lib/backups/retention): each keeps backups the count and days above would not.
    retentionKeepLast: integer("retention_keep_last"),
    retentionKeepHourly: integer("retention_keep_hourly"),
    retentionKeepDaily: integer("retention_keep_daily"),
    retentionKeepWeekly: integer("retention_keep_weekly"),
    retentionKeepMonthly: integer("retention_keep_monthly"),
    retentionKeepYearly: integer("retention_keep_yearly"),
    excludedTables: text("excluded_tables")
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    databasesToIgnore: text("databases_to_ignore")
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    /**
     * The latest cron slot a scheduled backup was started for. The scheduler
     * moves it forward with one conditional UPDATE, so of several instances
     * exactly one starts each slot's backup.
     */
    scheduleLastSlot: timestamp("schedule_last_slot", { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex("environments_project_name_idx").on(t.projectId, t.name), check("environments_name_format", sql`${t.name} ~ '^[a-z][a-z0-9]{0,29}$'`)],
);

export const backups = pgTable(
  "backups",
  {
    /** `<project>-<random lower-case letters>-<YYYYMMDDHHmm UTC>`, see lib/backups/backup-id.ts. */
    id: text("id").primaryKey(),
    environmentId: uuid("environment_id")
      .notNull()
      .references(() => environments.id, { onDelete: "cascade" }),
    name: text("name"),
    description: text("description"),
    origin: backupOrigin("origin").notNull(),
    status: backupStatus("status").notNull().default("queued"),
    statusReason: text("status_reason"),
    progressBytes: bigint("progress_bytes", { mode: "number" }).notNull().default(0),
    totalBytes: bigint("total_bytes", { mode: "number" }),
    verifyStatus: verifyStatus("verify_status").notNull().default("pending"),
    verifyResult: text("verify_result"),
    restoreStatus: restoreStatus("restore_status").notNull().default("none"),
    restoreResult: text("restore_result"),
    dbEngine: dbEngine("db_engine"),
    parentId: text("parent_id"),
    createdBy: text("created_by").notNull(),
    /** Who `createdBy` is: a person in the browser, a script with a token, or Lifeboat itself (schedules). */
    createdByType: text("created_by_type", { enum: ["user", "token", "system"] })
      .notNull()
      .default("user"),
    manifest: jsonb("manifest").$type<BackupManifest>(),
    /** A pinned backup is never deleted, by retention or by hand, until it is unpinned. */
    pinned: boolean("pinned").notNull().default(false),
    pinnedBy: text("pinned_by"),
    pinnedAt: timestamp("pinned_at", { withTimezone: true }),
    // Millisecond precision, like a JavaScript Date, so a keyset cursor built
    // from a row's timestamp compares exactly against the stored value.
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    startedAt: timestamp("started_at", { withTimezone: true }),
    completedAt: timestamp("completed_at", { withTimezone: true }),
  },
  (t) => [
    // Keyset pagination of one environment's backups, newest first. Plain
    // ascending columns on purpose: scanned backwards they give exactly
    // ORDER BY created_at DESC, id DESC (NULLS FIRST, the default), which a
    // "DESC NULLS LAST" index cannot serve — the planner would sort instead.
    index("backups_environment_created_idx").on(t.environmentId, t.createdAt, t.id),
    index("backups_environment_status_idx").on(t.environmentId, t.status),
  ],
);

export interface BackupManifest {
  version: 1;
  backupId: string;
  createdAt: string;
  createdBy: string;
  origin: (typeof backupOrigin.enumValues)[number];
  parentId: string | null;
  database: {
    engine: (typeof dbEngine.enumValues)[number] | null;
    serverVersion: string | null;
    dumpTool: string | null;
  };
  files: { kind: (typeof backupFileKind.enumValues)[number]; name: string; size: number; sha256: string }[];
}

export const backupFiles = pgTable(
  "backup_files",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    backupId: text("backup_id")
      .notNull()
      .references(() => backups.id, { onDelete: "cascade" }),
    kind: backupFileKind("kind").notNull(),
    fileName: text("file_name").notNull(),
    sizeBytes: bigint("size_bytes", { mode: "number" }).notNull(),
    sha256: text("sha256").notNull(),
    storageKey: text("storage_key").notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("backup_files_backup_kind_idx").on(t.backupId, t.kind)],
);

/** One Upload Backup: a database file and a volume file that become one backup together. */
export const uploadSessions = pgTable(
  "upload_sessions",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    environmentId: uuid("environment_id")
      .notNull()
      .references(() => environments.id, { onDelete: "cascade" }),
    status: uploadStatus("status").notNull().default("open"),
    statusReason: text("status_reason"),
    backupId: text("backup_id").references(() => backups.id, { onDelete: "set null" }),
    createdBy: text("created_by").notNull(),
    createdAt: createdAt(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
  },
  (t) => [index("upload_sessions_expiry_idx").on(t.status, t.expiresAt)],
);

export const uploads = pgTable(
  "uploads",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    sessionId: uuid("session_id")
      .notNull()
      .references(() => uploadSessions.id, { onDelete: "cascade" }),
    kind: backupFileKind("kind").notNull(),
    fileName: text("file_name").notNull(),
    sizeBytes: bigint("size_bytes", { mode: "number" }).notNull(),
    partSize: integer("part_size").notNull(),
    partCount: integer("part_count").notNull(),
    /** SHA-256 of the whole file as the client computed it; checked on completion. */
    sha256: text("sha256"),
    storageKey: text("storage_key").notNull(),
    storageUploadId: text("storage_upload_id").notNull(),
    status: uploadStatus("status").notNull().default("open"),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("uploads_session_kind_idx").on(t.sessionId, t.kind)],
);

/** The parts we hold, so resuming never depends on the storage's own listing. */
export const uploadParts = pgTable(
  "upload_parts",
  {
    uploadId: uuid("upload_id")
      .notNull()
      .references(() => uploads.id, { onDelete: "cascade" }),
    partNumber: integer("part_number").notNull(),
    sizeBytes: integer("size_bytes").notNull(),
    sha256: text("sha256").notNull(),
    etag: text("etag").notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.uploadId, t.partNumber] })],
);

/** Users as last seen at sign-in: tokens act for them without a browser session. */
export const users = pgTable("users", {
  id: text("id").primaryKey(),
  email: text("email").notNull().unique(),
  name: text("name"),
  groups: text("groups")
    .array()
    .notNull()
    .default(sql`'{}'::text[]`),
  lastSignInAt: timestamp("last_sign_in_at", { withTimezone: true }).notNull().defaultNow(),
  createdAt: createdAt(),
});

/** Maps an identity-provider group to a role in one environment, or in every environment of a project. */
export const roleBindings = pgTable(
  "role_bindings",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    groupName: text("group_name").notNull(),
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    /** Null: every environment of the project. */
    environmentId: uuid("environment_id").references(() => environments.id, { onDelete: "cascade" }),
    role: environmentRole("role").notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    unique("role_bindings_unique").on(t.groupName, t.projectId, t.environmentId, t.role).nullsNotDistinct(),
    index("role_bindings_group_idx").on(t.groupName),
  ],
);

/**
 * One browser session: the id is in the session cookie's JWT (`sid`), and
 * every request checks its row, so signing out (revoked_at) ends the session
 * on every instance at once, not when the cookie expires.
 */
export const authSessions = pgTable(
  "auth_sessions",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
    createdAt: createdAt(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
  },
  (t) => [index("auth_sessions_user_idx").on(t.userId), index("auth_sessions_expiry_idx").on(t.expiresAt)],
);

export const apiTokens = pgTable(
  "api_tokens",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** SHA-256 of the token; the token itself is shown once and never stored. */
    tokenHash: text("token_hash").notNull().unique(),
    /** The first characters, so a user can tell tokens apart. */
    prefix: text("prefix").notNull(),
    environmentId: uuid("environment_id").references(() => environments.id, { onDelete: "cascade" }),
    expiresAt: timestamp("expires_at", { withTimezone: true }),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true }),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [index("api_tokens_user_idx").on(t.userId)],
);

export const auditEvents = pgTable(
  "audit_events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    at: timestamp("at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    actor: text("actor").notNull(),
    actorType: text("actor_type", { enum: ["user", "token", "system"] }).notNull(),
    action: text("action").notNull(),
    projectId: text("project_id"),
    environmentId: uuid("environment_id"),
    backupId: text("backup_id"),
    ip: text("ip"),
    userAgent: text("user_agent"),
    detail: jsonb("detail").$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [index("audit_events_environment_idx").on(t.environmentId, t.at, t.id), index("audit_events_backup_idx").on(t.backupId)],
);

/** At most one backup, upload generation or restore per environment at a time. */
export const environmentLocks = pgTable("environment_locks", {
  environmentId: uuid("environment_id")
    .primaryKey()
    .references(() => environments.id, { onDelete: "cascade" }),
  operation: lockOperation("operation").notNull(),
  backupId: text("backup_id"),
  holder: text("holder").notNull(),
  acquiredAt: timestamp("acquired_at", { withTimezone: true }).notNull().defaultNow(),
  /** A holder that dies stops renewing; after this the lock may be taken over. */
  expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
});

/**
 * The durable job queue (lib/jobs): work that must survive a restart, such as
 * making a backup. A worker claims a job with a lease it keeps renewing; a job
 * whose lease lapsed lost its worker and is run again or given up.
 */
export const jobs = pgTable(
  "jobs",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    /** Which handler runs it, e.g. `backup.create`. */
    queue: text("queue").notNull(),
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull().default({}),
    status: jobStatus("status").notNull().default("queued"),
    /** Claims so far, the running one included. */
    attempts: integer("attempts").notNull().default(0),
    maxAttempts: integer("max_attempts").notNull().default(3),
    runAt: timestamp("run_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    lockedBy: text("locked_by"),
    leaseExpiresAt: timestamp("lease_expires_at", { withTimezone: true, precision: 3 }),
    lastError: text("last_error"),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    // The claim: the oldest due job of a queue.
    index("jobs_queued_idx").on(t.status, t.queue, t.runAt),
    // The sweep: running jobs whose lease lapsed.
    index("jobs_running_lease_idx").on(t.status, t.leaseExpiresAt),
    check("jobs_attempts_range", sql`${t.attempts} >= 0 and ${t.maxAttempts} >= 1`),
  ],
);

/** One restore of a backup into an environment (the backup's own or another of its project). */
export const restores = pgTable(
  "restores",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    /** Null once the backup is deleted; the restore's history stays. */
    backupId: text("backup_id").references(() => backups.id, { onDelete: "set null" }),
    /** The environment restored into. */
    environmentId: uuid("environment_id")
      .notNull()
      .references(() => environments.id, { onDelete: "cascade" }),
    status: restoreStatus("status").notNull().default("queued"),
    statusReason: text("status_reason"),
    /** What the restore is doing now, for people: e.g. "Loading the database into staging". */
    stage: text("stage"),
    progressBytes: bigint("progress_bytes", { mode: "number" }).notNull().default(0),
    totalBytes: bigint("total_bytes", { mode: "number" }),
    createdBy: text("created_by").notNull(),
    createdByType: text("created_by_type", { enum: ["user", "token", "system"] })
      .notNull()
      .default("user"),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    startedAt: timestamp("started_at", { withTimezone: true }),
    completedAt: timestamp("completed_at", { withTimezone: true }),
  },
  (t) => [index("restores_environment_created_idx").on(t.environmentId, t.createdAt), index("restores_backup_idx").on(t.backupId)],
);

/**
 * Fixed-window request counters for the API rate limit, in the database so
 * every instance counts against the same limit.
 */
export const rateLimitWindows = pgTable(
  "rate_limit_windows",
  {
    key: text("key").notNull(),
    windowStart: timestamp("window_start", { withTimezone: true, precision: 3 }).notNull(),
    count: integer("count").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.key, t.windowStart] }), index("rate_limit_windows_start_idx").on(t.windowStart)],
);

export const projectsRelations = relations(projects, ({ many }) => ({
  environments: many(environments),
}));

export const environmentsRelations = relations(environments, ({ one, many }) => ({
  project: one(projects, { fields: [environments.projectId], references: [projects.id] }),
  backups: many(backups),
}));

export const backupsRelations = relations(backups, ({ one, many }) => ({
  environment: one(environments, { fields: [backups.environmentId], references: [environments.id] }),
  files: many(backupFiles),
}));

export const backupFilesRelations = relations(backupFiles, ({ one }) => ({
  backup: one(backups, { fields: [backupFiles.backupId], references: [backups.id] }),
}));

export const uploadSessionsRelations = relations(uploadSessions, ({ many, one }) => ({
  uploads: many(uploads),
  environment: one(environments, { fields: [uploadSessions.environmentId], references: [environments.id] }),
}));

export const uploadsRelations = relations(uploads, ({ one, many }) => ({
  session: one(uploadSessions, { fields: [uploads.sessionId], references: [uploadSessions.id] }),
  parts: many(uploadParts),
}));

export const uploadPartsRelations = relations(uploadParts, ({ one }) => ({
  upload: one(uploads, { fields: [uploadParts.uploadId], references: [uploads.id] }),
}));

export type Project = typeof projects.$inferSelect;
export type Environment = typeof environments.$inferSelect;
export type NewEnvironment = typeof environments.$inferInsert;
export type Backup = typeof backups.$inferSelect;
export type NewBackup = typeof backups.$inferInsert;
export type BackupFile = typeof backupFiles.$inferSelect;
export type UploadSession = typeof uploadSessions.$inferSelect;
export type Upload = typeof uploads.$inferSelect;
export type UploadPart = typeof uploadParts.$inferSelect;
export type User = typeof users.$inferSelect;
export type RoleBinding = typeof roleBindings.$inferSelect;
export type ApiToken = typeof apiTokens.$inferSelect;
export type AuthSession = typeof authSessions.$inferSelect;
export type AuditEvent = typeof auditEvents.$inferSelect;
export type EnvironmentLock = typeof environmentLocks.$inferSelect;
export type Job = typeof jobs.$inferSelect;
export type Restore = typeof restores.$inferSelect;
export type NewRestore = typeof restores.$inferInsert;
export type NewJob = typeof jobs.$inferInsert;
export type EnvironmentRole = (typeof environmentRole.enumValues)[number];
