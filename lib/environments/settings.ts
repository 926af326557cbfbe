import { CronExpressionParser } from "cron-parser";
import { eq, sql } from "drizzle-orm";
import { z } from "zod";

import type { Actor } from "@/lib/auth/permissions";
import { auditActorType, canChangeBackupPolicy, canChangeEnvironmentSources, canViewEnvironmentSettings } from "@/lib/auth/permissions";
import { getConfig } from "@/lib/config";
import { encryptSecret } from "@/lib/crypto/secrets";
import type { Db } from "@/lib/db/client";
import { recordAuditEvent } from "@/lib/db/queries/audit";
import { environments } from "@/lib/db/schema";
import type { Environment } from "@/lib/db/schema";
import { AppError } from "@/lib/errors";

import { databaseHostSchema, databaseNameSchema, databaseUserSchema, TABLE_OR_DATABASE_NAME } from "./source-fields";
import { resolveVolumeFolder } from "./volume-folder";

/*
 * An environment's backup settings: where its database and document library
 * are (its sources, set by operators), when it is backed up (cron, UTC) and
 * how long backups are kept (its policy, set by its administrators).
 */

/** Excluded tables and databases to ignore: plain names, attached to tool options as values (never an option themselves). */
const name = z.string().trim().min(1).max(128).regex(TABLE_OR_DATABASE_NAME, "letters, digits, _ $ . - only, not starting with . or -");

function isCron(value: string): boolean {
  try {
    CronExpressionParser.parse(value, { tz: "UTC" });
    return value.trim().split(/\s+/).length === 5;
  } catch {
    return false;
  }
}

/** What operators set: what Lifeboat's tools read and replace (canChangeEnvironmentSources). */
export const SOURCE_FIELDS = ["dbEngine", "dbHost", "dbPort", "dbName", "dbUser", "dbPassword", "volumePath"] as const;
/** What environment administrators set: how backups are made and kept. */
export const POLICY_FIELDS = [
  "scheduleCron",
  "retentionKeepCount",
  "retentionDays",
  "retentionKeepLast",
  "retentionKeepHourly",
  "retentionKeepDaily",
  "retentionKeepWeekly",
  "retentionKeepMonthly",
  "retentionKeepYearly",
  "excludedTables",
  "databasesToIgnore",
] as const;

/** How many backups (or periods) a keep rule keeps; null: the rule is off. */
const keepNumber = z.number().int().min(1).max(100_000).nullable().optional();

/**
 * A change of settings: every field is optional, and a field left out keeps
 * its stored value, so an administrator changing the schedule never sends
 * (nor needs to see) the database connection.
 */
export const environmentSettingsSchema = z.object({
  dbEngine: z.enum(["postgresql", "mysql"]).nullable().optional(),
  dbHost: databaseHostSchema.nullable().optional(),
  dbPort: z.number().int().min(1).max(65535).nullable().optional(),
  dbName: databaseNameSchema.nullable().optional(),
  dbUser: databaseUserSchema.nullable().optional(),
  /** Write-only: absent keeps the stored one, null (or "") removes it. */
  dbPassword: z.string().max(1024).nullable().optional(),
  volumePath: z
    .string()
    .trim()
    .max(4096)
    .refine((p) => p.startsWith("/"), "must be an absolute path on the Lifeboat server")
    .refine((p) => !p.split("/").includes(".."), "must not contain ..")
    .nullable()
    .optional(),
  scheduleCron: z.string().trim().refine(isCron, "must be a cron expression of five fields, e.g. 0 3 * * * (03:00 UTC every day)").nullable().optional(),
  retentionKeepCount: keepNumber,
  retentionDays: z.number().int().min(1).max(36_500).nullable().optional(),
  // Each keeps more than the count and days above: see lib/backups/retention/policy.ts.
  retentionKeepLast: keepNumber,
  retentionKeepHourly: keepNumber,
  retentionKeepDaily: keepNumber,
  retentionKeepWeekly: keepNumber,
  retentionKeepMonthly: keepNumber,
  retentionKeepYearly: keepNumber,
  excludedTables: z.array(name).max(500).optional(),
  databasesToIgnore: z.array(name).max(500).optional(),
});

export type EnvironmentSettingsInput = z.infer<typeof environmentSettingsSchema>;

/**
 * What clients see: everything but the password, of which only its
 * presence — and the sources only to operators (`sourcesVisible`): a
 * database host and a folder path are the installation's business, not the
 * environment's. `sourceConfigured` says whether there is one at all.
 */
export interface EnvironmentSettingsJson {
  project: string;
  environment: string;
  dbEngine: Environment["dbEngine"];
  dbHost: string | null;
  dbPort: number | null;
  dbName: string | null;
  dbUser: string | null;
  hasPassword: boolean;
  volumePath: string | null;
  scheduleCron: string | null;
  nextScheduledRun: string | null;
  retentionKeepCount: number | null;
  retentionDays: number | null;
  retentionKeepLast: number | null;
  retentionKeepHourly: number | null;
  retentionKeepDaily: number | null;
  retentionKeepWeekly: number | null;
  retentionKeepMonthly: number | null;
  retentionKeepYearly: number | null;
  excludedTables: string[];
  databasesToIgnore: string[];
  sourcesVisible: boolean;
  sourceConfigured: { database: boolean; volume: boolean };
  canChangeSources: boolean;
  canChangePolicy: boolean;
}

export function toSettingsJson(env: Environment, actor: Actor, now = new Date()): EnvironmentSettingsJson {
  const sourcesVisible = canChangeEnvironmentSources(actor, env);
  const source = <T>(value: T): T | null => (sourcesVisible ? value : null);
  return {
    project: env.projectId,
    environment: env.name,
    dbEngine: env.dbEngine,
    dbHost: source(env.dbHost),
    dbPort: source(env.dbPort),
    dbName: source(env.dbName),
    dbUser: source(env.dbUser),
    hasPassword: sourcesVisible && Boolean(env.dbPasswordEncrypted),
    volumePath: source(env.volumePath),
    scheduleCron: env.scheduleCron,
    nextScheduledRun: env.scheduleCron ? (CronExpressionParser.parse(env.scheduleCron, { tz: "UTC", currentDate: now }).next().toISOString() ?? null) : null,
    retentionKeepCount: env.retentionKeepCount,
    retentionDays: env.retentionDays,
    retentionKeepLast: env.retentionKeepLast,
    retentionKeepHourly: env.retentionKeepHourly,
    retentionKeepDaily: env.retentionKeepDaily,
    retentionKeepWeekly: env.retentionKeepWeekly,
    retentionKeepMonthly: env.retentionKeepMonthly,
    retentionKeepYearly: env.retentionKeepYearly,
    excludedTables: env.excludedTables,
    databasesToIgnore: env.databasesToIgnore,
    sourcesVisible,
    sourceConfigured: { database: Boolean(env.dbEngine && env.dbHost && env.dbName && env.dbUser), volume: Boolean(env.volumePath) },
    canChangeSources: sourcesVisible,
    canChangePolicy: canChangeBackupPolicy(actor, env),
  };
}

type SettingsField = keyof EnvironmentSettingsInput;

/** The fields of `input` that would change what is stored (a password sent is always a change). */
function changedFields(environment: Environment, input: EnvironmentSettingsInput): SettingsField[] {
  return (Object.keys(input) as SettingsField[]).filter((field) => {
    const value = input[field];
    if (value === undefined) return false;
    if (field === "dbPassword") return true;
    return JSON.stringify(value) !== JSON.stringify(environment[field]);
  });
}

const isIn = (fields: readonly string[]) => (field: string) => fields.includes(field);

/**
 * Applies a change of settings, each field checked against who may change
 * it before anything is written: sources by operators, the backup policy by
 * the environment's administrators. A volume folder is resolved on disk and
 * must lie inside the volume roots (./volume-folder.ts).
 */
export async function updateEnvironmentSettings(
  db: Db,
  {
    actor,
    environment,
    input,
    volumeRoots = getConfig().volumeRoots,
  }: { actor: Actor; environment: Environment; input: EnvironmentSettingsInput; volumeRoots?: readonly string[] },
): Promise<Environment> {
  const label = `${environment.projectId}-${environment.name}`;
  if (!canViewEnvironmentSettings(actor, environment)) {
    throw new AppError("forbidden", `Only administrators of ${label} and Lifeboat's operators can change its settings.`);
  }
  const changed = changedFields(environment, input);
  const sources = changed.filter(isIn(SOURCE_FIELDS));
  const policy = changed.filter(isIn(POLICY_FIELDS));
  if (sources.length > 0 && !canChangeEnvironmentSources(actor, environment)) {
    throw new AppError(
      "forbidden",
      `Only Lifeboat's operators can change ${label}'s database connection and volume folder (${sources.join(", ")}): they decide what Lifeboat's tools may read and replace. Leave these fields out, or ask an operator.`,
    );
  }
  if (policy.length > 0 && !canChangeBackupPolicy(actor, environment)) {
    throw new AppError(
      "forbidden",
      `Only administrators of ${label} can change its schedule, retention, excluded tables and databases to ignore (${policy.join(", ")}).`,
    );
  }

  const changes = Object.fromEntries(changed.map((field) => [field, input[field]])) as EnvironmentSettingsInput;
  const next = { ...environment, ...changes };
  // Judged when the source changes: a half-configured one must not block, say, a schedule change.
  if (sources.length > 0 && next.dbEngine && (!next.dbHost || !next.dbName || !next.dbUser)) {
    throw new AppError("unprocessable", "dbHost: a database source needs a host, a database name and a user.", [
      { field: "dbHost", message: "a database source needs host, database name and user" },
    ]);
  }
  if (changes.volumePath) {
    const folder = await resolveVolumeFolder(changes.volumePath, { roots: volumeRoots });
    if (!folder.ok) throw new AppError("unprocessable", `volumePath: the volume folder ${folder.reason}.`, [{ field: "volumePath", message: folder.reason }]);
  }

  const { dbPassword, ...rest } = changes;
  const password = dbPassword === undefined ? {} : { dbPasswordEncrypted: dbPassword === null || dbPassword === "" ? null : encryptSecret(dbPassword) };
  const [updated] = await db
    .update(environments)
    // A new schedule starts afresh: the scheduler does not run slots of the old one late (lib/backups/schedule).
    .set({ ...rest, ...password, ...(changed.includes("scheduleCron") ? { scheduleLastSlot: null } : {}), updatedAt: sql`now()` })
    .where(eq(environments.id, environment.id))
    .returning();
  if (!updated) throw new AppError("not_found", `${label} no longer exists.`);
  await recordAuditEvent(db, {
    actor: actor.email,
    actorType: auditActorType(actor),
    action: "environment.update",
    projectId: environment.projectId,
    environmentId: environment.id,
    // Which settings changed, never their secret values.
    detail: { fields: changed, passwordChanged: dbPassword !== undefined },
  });
  return updated;
}
