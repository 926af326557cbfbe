import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { Actor } from "@/lib/auth/permissions";
import { decryptSecret } from "@/lib/crypto/secrets";
import type { DbHandle } from "@/lib/db/client";
import { listAuditEvents } from "@/lib/db/queries/audit";
import { getEnvironment } from "@/lib/db/queries/projects";
import { resolveEnvironmentRoles } from "@/lib/db/queries/roles";
import { environments } from "@/lib/db/schema";
import type { Environment } from "@/lib/db/schema";
import { DEMO_GROUPS, seedDemoProject } from "@/lib/db/seed";
import { createTestDatabase, DATABASE_KINDS } from "@/lib/db/testing";
import { isAppError } from "@/lib/errors";

import { environmentSettingsSchema, toSettingsJson, updateEnvironmentSettings } from "./settings";
import type { EnvironmentSettingsInput } from "./settings";

const SECRET = "settings-test-secret-0123456789abcdef";

const source = {
  dbEngine: "postgresql" as const,
  dbHost: "db.acme.internal",
  dbPort: 5432,
  dbName: "lportal",
  dbUser: "liferay",
  dbPassword: "s3cret!",
};
const policy = {
  scheduleCron: "30 2 * * *",
  retentionKeepCount: 14,
  retentionDays: 30,
  excludedTables: ["quartz_log", "audit_entry"],
  databasesToIgnore: ["information_schema"],
};

describe("environment settings validation", () => {
  it("accepts a complete source and a five-field cron, and any subset of fields", () => {
    expect(environmentSettingsSchema.safeParse({ ...source, ...policy, volumePath: "/srv/docs/acme" }).success).toBe(true);
    expect(environmentSettingsSchema.safeParse({ scheduleCron: "0 4 * * *" }).success).toBe(true);
    expect(environmentSettingsSchema.safeParse({}).success).toBe(true);
  });

  it("names what is wrong, and takes no tool option, connection string or socket for a name or host", () => {
    const messages = (input: object) => environmentSettingsSchema.safeParse(input).error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`) ?? [];
    expect(messages({ scheduleCron: "every night" })[0]).toMatch(/^scheduleCron: must be a cron expression/);
    expect(messages({ scheduleCron: "0 0 3 * * *" })[0]).toMatch(/^scheduleCron: /); // six fields: seconds are not ours
    expect(messages({ volumePath: "relative/path" })[0]).toMatch(/^volumePath: must be an absolute path/);
    expect(messages({ volumePath: "/data/../etc" })[0]).toMatch(/^volumePath: must not contain \.\./);
    expect(messages({ excludedTables: ["users; drop table x"] })[0]).toMatch(/^excludedTables\.0: /);
    expect(messages({ excludedTables: ["--where=1"] })[0]).toMatch(/^excludedTables\.0: /);
    expect(messages({ dbPort: 70000 })[0]).toMatch(/^dbPort: /);
    expect(messages({ dbName: "--result-file=/some/file" })[0]).toMatch(/^dbName: must be a database name/);
    expect(messages({ dbName: "host=10.0.0.5 dbname=x" })[0]).toMatch(/^dbName: /);
    expect(messages({ dbUser: "-uroot" })[0]).toMatch(/^dbUser: must be a user name/);
    expect(messages({ dbHost: "/var/run/postgresql" })[0]).toMatch(/^dbHost: must be a host name/);
    expect(messages({ dbHost: "--host=evil" })[0]).toMatch(/^dbHost: /);
  });
});

describe.each(DATABASE_KINDS)("updating settings on %s", (kind) => {
  let handle: DbHandle;
  let environment: Environment;
  let admin: Actor;
  let member: Actor;
  let operator: Actor;
  let root: string;
  let outside: string;

  const reload = async () => (environment = (await getEnvironment(handle.db, { projectId: "acme", name: "uat" }))!);
  const update = (actor: Actor, input: EnvironmentSettingsInput) => updateEnvironmentSettings(handle.db, { actor, environment, input, volumeRoots: [root] });
  const refusal = async (run: Promise<unknown>) => {
    try {
      await run;
    } catch (error) {
      if (isAppError(error)) return { status: error.status, message: error.message };
      throw error;
    }
    throw new Error("expected a refusal");
  };

  beforeAll(async () => {
    process.env.NEXTAUTH_SECRET = SECRET;
    handle = await createTestDatabase(kind);
    await seedDemoProject(handle.db);
    await reload();
    const actor = async (groups: string[], isOperator = false): Promise<Actor> => ({
      kind: "user",
      id: groups[0] ?? "operator",
      email: `${groups[0] ?? "operator"}@acme.test`,
      name: null,
      groups,
      roles: await resolveEnvironmentRoles(handle.db, { groups }),
      operator: isOperator,
    });
    admin = await actor([DEMO_GROUPS.admins]);
    member = await actor([DEMO_GROUPS.members]);
    operator = await actor([], true);
    root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "lifeboat-roots-")));
    outside = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "lifeboat-outside-")));
    fs.mkdirSync(path.join(root, "acme-uat", "document_library"), { recursive: true });
    fs.writeFileSync(path.join(root, "a-file"), "not a folder");
    fs.symlinkSync(outside, path.join(root, "escape"));
  });

  afterAll(async () => {
    await handle?.close();
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(outside, { recursive: true, force: true });
  });

  it("lets an operator set the sources: the password only encrypted, the audit without secrets", async () => {
    const volumePath = path.join(root, "acme-uat", "document_library");
    const updated = await update(operator, environmentSettingsSchema.parse({ ...source, volumePath }));
    expect(updated).toMatchObject({ dbHost: "db.acme.internal", dbName: "lportal", volumePath });
    expect(updated.dbPasswordEncrypted).not.toContain("s3cret");
    expect(decryptSecret(updated.dbPasswordEncrypted!, SECRET)).toBe("s3cret!");
    const json = toSettingsJson(updated, operator, new Date(Date.UTC(2026, 0, 1, 12)));
    expect(json).toMatchObject({ hasPassword: true, sourcesVisible: true, canChangeSources: true, canChangePolicy: false, dbHost: "db.acme.internal" });
    expect(JSON.stringify(json)).not.toContain("s3cret");

    const [event] = await listAuditEvents(handle.db, { environmentId: environment.id });
    expect(event?.action).toBe("environment.update");
    expect(JSON.stringify(event?.detail)).not.toContain("s3cret");
    expect(event?.detail).toMatchObject({ passwordChanged: true });
    await reload();
  });

  it("lets an administrator set the policy, and shows them only whether there is a source", async () => {
    const updated = await update(admin, environmentSettingsSchema.parse(policy));
    const json = toSettingsJson(updated, admin, new Date(Date.UTC(2026, 0, 1, 12)));
    expect(json).toMatchObject({ scheduleCron: "30 2 * * *", excludedTables: ["quartz_log", "audit_entry"], canChangePolicy: true, canChangeSources: false });
    expect(json.nextScheduledRun).toBe("2026-01-02T02:30:00.000Z");
    expect(json).toMatchObject({ sourcesVisible: false, dbHost: null, dbName: null, dbUser: null, volumePath: null, hasPassword: false });
    expect(json.sourceConfigured).toEqual({ database: true, volume: true });
    await reload();
  });

  it("refuses an administrator's change of a source, naming it, and changes nothing", async () => {
    const before = await reload();
    const refused = await refusal(update(admin, environmentSettingsSchema.parse({ dbName: "other", scheduleCron: "0 5 * * *" })));
    expect(refused.status).toBe(403);
    expect(refused.message).toMatch(/^Only Lifeboat's operators can change acme-uat's database connection and volume folder \(dbName\)/);
    expect(await reload()).toEqual(before);
    // Sending a source unchanged is no change: a client echoing what it has is fine.
    await expect(update(admin, { scheduleCron: before.scheduleCron, dbEngine: before.dbEngine })).resolves.toBeTruthy();
  });

  it("refuses an operator's change of the policy without a role, and members everything", async () => {
    expect((await refusal(update(operator, { retentionKeepCount: 2 }))).status).toBe(403);
    expect((await refusal(update(member, { retentionKeepCount: 2 }))).message).toMatch(/^Only administrators of acme-uat and Lifeboat's operators/);
  });

  it("keeps the stored password when none is sent, and removes it on null", async () => {
    const kept = await update(operator, { dbPort: 6543 });
    expect(kept.dbPort).toBe(6543);
    expect(decryptSecret(kept.dbPasswordEncrypted!, SECRET)).toBe("s3cret!");
    await reload();
    const removed = await update(operator, { dbPassword: null });
    expect(removed.dbPasswordEncrypted).toBeNull();
    await reload();
  });

  it("takes a volume folder only inside the volume roots, as it resolves, and says nothing of what lies outside", async () => {
    const reason = async (volumePath: string) => {
      const refused = await refusal(update(operator, { volumePath }));
      expect(refused.status).toBe(422);
      return refused.message;
    };
    const outsideMessage = `volumePath: the volume folder must be a folder inside one of the volume roots (${root}).`;
    // What exists outside and what does not get the same answer.
    expect(await reason("/etc")).toBe(outsideMessage);
    expect(await reason("/no/such/folder/anywhere")).toBe(outsideMessage);
    expect(await reason(outside)).toBe(outsideMessage);
    expect(await reason(root)).toBe(outsideMessage); // the root itself: a restore would rename it
    expect(await reason(path.join(root, "escape"))).toMatch(/resolves outside the volume roots/);
    expect(await reason(path.join(root, "escape", "docs"))).toMatch(/resolves outside the volume roots|does not exist/);
    expect(await reason(path.join(root, "missing"))).toMatch(/does not exist$|does not exist\.$/);
    expect(await reason(path.join(root, "a-file"))).toMatch(/is not a folder/);
    expect((await reload()).volumePath).toBe(path.join(root, "acme-uat", "document_library"));
    const none = await refusal(
      updateEnvironmentSettings(handle.db, { actor: operator, environment, input: { volumePath: path.join(root, "acme-uat") }, volumeRoots: [] }),
    );
    expect(none.message).toMatch(/allows no volume folders yet \(an operator names the folders that hold document libraries in VOLUME_ROOTS\)/);
  });

  it("does not let a half-configured source block a schedule change", async () => {
    await handle.db.update(environments).set({ dbHost: null }).where(eq(environments.id, environment.id));
    await reload();
    await expect(update(admin, { scheduleCron: "0 6 * * *" })).resolves.toMatchObject({ scheduleCron: "0 6 * * *" });
    await reload();
    const refused = await refusal(update(operator, { dbName: "lportal2" }));
    expect(refused).toMatchObject({ status: 422, message: expect.stringMatching(/needs a host, a database name and a user/) as unknown as string });
  });
});
