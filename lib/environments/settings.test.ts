import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { Actor } from "@/lib/auth/permissions";
import { decryptSecret } from "@/lib/crypto/secrets";
import type { DbHandle } from "@/lib/db/client";
import { listAuditEvents } from "@/lib/db/queries/audit";
import { getEnvironment } from "@/lib/db/queries/projects";
import { resolveEnvironmentRoles } from "@/lib/db/queries/roles";
import type { Environment } from "@/lib/db/schema";
import { DEMO_GROUPS, seedDemoProject } from "@/lib/db/seed";
import { createTestDatabase, DATABASE_KINDS } from "@/lib/db/testing";

import { environmentSettingsSchema, toSettingsJson, updateEnvironmentSettings } from "./settings";

const SECRET = "settings-test-secret-0123456789abcdef";

const valid = {
  dbEngine: "postgresql" as const,
  dbHost: "db.acme.internal",
  dbPort: 5432,
  dbName: "lportal",
  dbUser: "liferay",
  dbPassword: "s3cret!",
  volumePath: "/var/liferay/data/document_library",
  scheduleCron: "30 2 * * *",
  retentionKeepCount: 14,
  retentionDays: 30,
  excludedTables: ["quartz_log", "audit_entry"],
  databasesToIgnore: ["information_schema"],
};

describe("environment settings validation", () => {
  it("accepts a complete source and a five-field cron", () => {
    expect(environmentSettingsSchema.safeParse(valid).success).toBe(true);
  });

  it("names what is wrong", () => {
    const messages = (input: object) =>
      environmentSettingsSchema.safeParse({ ...valid, ...input }).error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`) ?? [];
    expect(messages({ scheduleCron: "every night" })[0]).toMatch(/^scheduleCron: must be a cron expression/);
    expect(messages({ scheduleCron: "0 0 3 * * *" })[0]).toMatch(/^scheduleCron: /); // six fields: seconds are not ours
    expect(messages({ volumePath: "relative/path" })[0]).toMatch(/^volumePath: must be an absolute path/);
    expect(messages({ volumePath: "/data/../etc" })[0]).toMatch(/^volumePath: must not contain \.\./);
    expect(messages({ dbHost: null })[0]).toMatch(/^dbHost: a database source needs host/);
    expect(messages({ excludedTables: ["users; drop table x"] })[0]).toMatch(/^excludedTables\.0: /);
    expect(messages({ dbPort: 70000 })[0]).toMatch(/^dbPort: /);
  });
});

describe.each(DATABASE_KINDS)("updating settings on %s", (kind) => {
  let handle: DbHandle;
  let environment: Environment;
  let admin: Actor;
  let member: Actor;

  beforeAll(async () => {
    process.env.NEXTAUTH_SECRET = SECRET;
    handle = await createTestDatabase(kind);
    await seedDemoProject(handle.db);
    environment = (await getEnvironment(handle.db, { projectId: "acme", name: "uat" }))!;
    const actor = async (groups: string[]): Promise<Actor> => ({
      kind: "user",
      id: groups[0]!,
      email: `${groups[0]}@acme.test`,
      name: null,
      groups,
      roles: await resolveEnvironmentRoles(handle.db, { groups }),
    });
    admin = await actor([DEMO_GROUPS.admins]);
    member = await actor([DEMO_GROUPS.members]);
  });

  afterAll(async () => {
    await handle?.close();
  });

  it("stores the settings, the password only encrypted, and audits without secrets", async () => {
    const updated = await updateEnvironmentSettings(handle.db, { actor: admin, environment, input: environmentSettingsSchema.parse(valid) });
    expect(updated.dbPasswordEncrypted).not.toContain("s3cret");
    expect(decryptSecret(updated.dbPasswordEncrypted!, SECRET)).toBe("s3cret!");
    const json = toSettingsJson(updated, new Date(Date.UTC(2026, 0, 1, 12)));
    expect(json).toMatchObject({ hasPassword: true, scheduleCron: "30 2 * * *", excludedTables: ["quartz_log", "audit_entry"] });
    expect(json.nextScheduledRun).toBe("2026-01-02T02:30:00.000Z");
    expect(JSON.stringify(json)).not.toContain("s3cret");

    const [event] = await listAuditEvents(handle.db, { environmentId: environment.id });
    expect(event?.action).toBe("environment.update");
    expect(JSON.stringify(event?.detail)).not.toContain("s3cret");
    expect(event?.detail).toMatchObject({ passwordChanged: true });
  });

  it("keeps the stored password when none is sent, and removes it on null", async () => {
    const { dbPassword: _omit, ...withoutPassword } = valid;
    const kept = await updateEnvironmentSettings(handle.db, {
      actor: admin,
      environment,
      input: environmentSettingsSchema.parse({ ...withoutPassword, dbPort: 6543 }),
    });
    expect(kept.dbPort).toBe(6543);
    expect(decryptSecret(kept.dbPasswordEncrypted!, SECRET)).toBe("s3cret!");
    const removed = await updateEnvironmentSettings(handle.db, {
      actor: admin,
      environment,
      input: environmentSettingsSchema.parse({ ...valid, dbPassword: null }),
    });
    expect(removed.dbPasswordEncrypted).toBeNull();
  });

  it("refuses members", async () => {
    await expect(updateEnvironmentSettings(handle.db, { actor: member, environment, input: environmentSettingsSchema.parse(valid) })).rejects.toMatchObject({
      code: "forbidden",
    });
  });
});
