import { CronExpressionParser } from "cron-parser";
import { eq, sql } from "drizzle-orm";
import { z } from "zod";

import type { Actor } from "@/lib/auth/permissions";
import { auditActorType, canViewEnvironmentSettings } from "@/lib/auth/permissions";
import { encryptSecret } from "@/lib/crypto/secrets";
import type { Db } from "@/lib/db/client";
import { recordAuditEvent } from "@/lib/db/queries/audit";
import { environments } from "@/lib/db/schema";
import type { Environment } from "@/lib/db/schema";
import { AppError } from "@/lib/errors";

/*
 * An environment's backup settings: where its database and document library
 * are, when it is backed up (cron, UTC) and how long backups are kept.
 */

const name = z
  .string()
  .trim()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_$.-]+$/, "letters, digits, _ $ . - only");

function isCron(value: string): boolean {
  try {
    CronExpressionParser.parse(value, { tz: "UTC" });
    return value.trim().split(/\s+/).length === 5;
  } catch {
    return false;
  }
}

export const environmentSettingsSchema = z
  .object({
    dbEngine: z.enum(["postgresql", "mysql"]).nullable(),
    dbHost: z.string().trim().max(255).nullable(),
    dbPort: z.number().int().min(1).max(65535).nullable(),
    dbName: z.string().trim().max(128).nullable(),
    dbUser: z.string().trim().max(128).nullable(),
    /** Write-only: absent keeps the stored one, null removes it. */
    dbPassword: z.string().max(1024).nullable().optional(),
    volumePath: z
      .string()
      .trim()
      .max(4096)
      .refine((p) => p.startsWith("/"), "must be an absolute path on the Lifeboat server")
      .refine((p) => !p.split("/").includes(".."), "must not contain ..")
      .nullable(),
    scheduleCron: z.string().trim().refine(isCron, "must be a cron expression of five fields, e.g. 0 3 * * * (03:00 UTC every day)").nullable(),
    retentionKeepCount: z.number().int().min(1).max(100_000).nullable(),
    retentionDays: z.number().int().min(1).max(36_500).nullable(),
    excludedTables: z.array(name).max(500),
    databasesToIgnore: z.array(name).max(500),
  })
  .superRefine((value, ctx) => {
    const source = [value.dbHost, value.dbName, value.dbUser];
    if (value.dbEngine && source.some((v) => !v)) {
      ctx.addIssue({ code: "custom", path: ["dbHost"], message: "a database source needs host, database name and user" });
    }
  });

export type EnvironmentSettingsInput = z.infer<typeof environmentSettingsSchema>;

/** What clients see: everything but the password, of which only its presence. */
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
  excludedTables: string[];
  databasesToIgnore: string[];
}

export function toSettingsJson(env: Environment, now = new Date()): EnvironmentSettingsJson {
  return {
    project: env.projectId,
    environment: env.name,
    dbEngine: env.dbEngine,
    dbHost: env.dbHost,
    dbPort: env.dbPort,
    dbName: env.dbName,
    dbUser: env.dbUser,
    hasPassword: Boolean(env.dbPasswordEncrypted),
    volumePath: env.volumePath,
    scheduleCron: env.scheduleCron,
    nextScheduledRun: env.scheduleCron ? (CronExpressionParser.parse(env.scheduleCron, { tz: "UTC", currentDate: now }).next().toISOString() ?? null) : null,
    retentionKeepCount: env.retentionKeepCount,
    retentionDays: env.retentionDays,
    excludedTables: env.excludedTables,
    databasesToIgnore: env.databasesToIgnore,
  };
}

export async function updateEnvironmentSettings(
  db: Db,
  { actor, environment, input }: { actor: Actor; environment: Environment; input: EnvironmentSettingsInput },
): Promise<Environment> {
  if (!canViewEnvironmentSettings(actor, environment)) {
    throw new AppError("forbidden", `Only administrators of ${environment.projectId}-${environment.name} can change its settings.`);
  }
  const { dbPassword, ...rest } = input;
  const password = dbPassword === undefined ? {} : { dbPasswordEncrypted: dbPassword === null || dbPassword === "" ? null : encryptSecret(dbPassword) };
  const [updated] = await db
    .update(environments)
    // A new schedule starts afresh: the scheduler does not run slots of the old one late (lib/backups/schedule).
    .set({
      ...rest,
      ...password,
      ...(rest.scheduleCron !== undefined && rest.scheduleCron !== environment.scheduleCron ? { scheduleLastSlot: null } : {}),
      updatedAt: sql`now()`,
    })
    .where(eq(environments.id, environment.id))
    .returning();
  if (!updated) throw new AppError("not_found", `${environment.projectId}-${environment.name} no longer exists.`);
  const changed = Object.keys(input).filter((key) => key !== "dbPassword" || dbPassword !== undefined);
  await recordAuditEvent(db, {
    actor: actor.email,
    actorType: auditActorType(actor),
    action: "environment.update",
    projectId: environment.projectId,
    environmentId: environment.id,
    // Which settings were sent, never their secret values.
    detail: { fields: changed, passwordChanged: dbPassword !== undefined },
  });
  return updated;
}
