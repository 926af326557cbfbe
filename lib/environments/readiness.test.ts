import { randomUUID } from "node:crypto";
import { chmod, mkdir, mkdtemp, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { Environment } from "@/lib/db/schema";

import { checkEnvironmentReadiness, isOnPath, missingSourceMessage, setSourceNote } from "./readiness";

let root: string;
let volume: string;
/** A PATH with nothing on it, and one with stand-ins for the PostgreSQL client tools only. */
let emptyPath: string;
let postgresToolsPath: string;

function environment(values: Partial<Environment> = {}): Environment {
  return {
    id: randomUUID(),
    projectId: "acme",
    name: "dev",
    displayName: "Development",
    isProduction: false,
    dbEngine: "postgresql",
    dbHost: "127.0.0.1",
    dbPort: 5432,
    dbName: "lportal",
    dbUser: "postgres",
    dbPasswordEncrypted: null,
    volumePath: volume,
    scheduleCron: null,
    retentionKeepCount: null,
    retentionDays: null,
    retentionKeepLast: null,
    retentionKeepHourly: null,
    retentionKeepDaily: null,
    retentionKeepWeekly: null,
    retentionKeepMonthly: null,
    retentionKeepYearly: null,
    excludedTables: [],
    databasesToIgnore: [],
    scheduleLastSlot: null,
    createdAt: new Date(),
    updatedAt: new Date(),
    ...values,
  };
}

beforeAll(async () => {
  root = await realpath(await mkdtemp(path.join(tmpdir(), "lifeboat-readiness-")));
  volume = path.join(root, "document_library");
  await mkdir(volume);
  emptyPath = path.join(root, "empty-bin");
  await mkdir(emptyPath);
  postgresToolsPath = path.join(root, "pg-bin");
  await mkdir(postgresToolsPath);
  for (const tool of ["pg_dump", "psql"]) {
    await writeFile(path.join(postgresToolsPath, tool), "#!/bin/sh\nexit 0\n");
    await chmod(path.join(postgresToolsPath, tool), 0o755);
  }
  // Not executable: spawn would not run it, so it does not count.
  await writeFile(path.join(postgresToolsPath, "mysqldump"), "");
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("environment readiness", () => {
  it("is ready when the source is set, the tools are installed, the server answers and the folder exists", async () => {
    const readiness = await checkEnvironmentReadiness(environment(), { toolEnv: { PATH: postgresToolsPath }, volumeRoots: [root] });
    expect(readiness).toMatchObject({ ready: true, problem: null });
    expect(readiness.checks.map((c) => [c.name, c.ok])).toEqual([
      ["database", true],
      ["tools", true],
      ["server", true],
      ["volume", true],
    ]);
    expect(readiness.checks.find((c) => c.name === "tools")?.text).toBe("pg_dump and psql are installed on the Lifeboat server.");
  });

  it("says pg_dump is not installed, and the command that installs it", async () => {
    const readiness = await checkEnvironmentReadiness(environment(), { purpose: "backup", toolEnv: { PATH: emptyPath }, volumeRoots: [root] });
    expect(readiness.ready).toBe(false);
    expect(readiness.problem).toBe("pg_dump is not installed on the Lifeboat server: apt-get install postgresql-client");
    const both = await checkEnvironmentReadiness(environment(), { toolEnv: { PATH: emptyPath }, volumeRoots: [root] });
    expect(both.problem).toBe("pg_dump and psql are not installed on the Lifeboat server: apt-get install postgresql-client");
    const mysql = await checkEnvironmentReadiness(environment({ dbEngine: "mysql", dbPort: 3306 }), {
      purpose: "backup",
      toolEnv: { PATH: postgresToolsPath },
      volumeRoots: [root],
    });
    expect(mysql.problem).toBe("mysqldump is not installed on the Lifeboat server: apt-get install mariadb-client");
  });

  it("says when no database server answers at the host and port", async () => {
    const refused = await checkEnvironmentReadiness(environment({ dbPort: 1 }), { toolEnv: { PATH: postgresToolsPath }, volumeRoots: [root] });
    expect(refused.problem).toBe(
      "No PostgreSQL server answers at 127.0.0.1:1 (the connection was refused): start it, or an operator corrects the host and port in the environment's settings.",
    );
    const unknown = await checkEnvironmentReadiness(environment({ dbHost: "db.invalid" }), { toolEnv: { PATH: postgresToolsPath }, volumeRoots: [root] });
    expect(unknown.problem).toMatch(/^No PostgreSQL server answers at db\.invalid:5432 \(the host name does not resolve\)/);
    // A host the tools would not be given is not knocked on either.
    const socket = await checkEnvironmentReadiness(environment({ dbHost: "/var/run/postgresql" }), {
      toolEnv: { PATH: postgresToolsPath },
      volumeRoots: [root],
    });
    expect(socket.problem).toBe(
      `acme-dev's database source cannot be used: the database host "/var/run/postgresql" is not a host name or an IP address; an operator corrects it in the environment's settings.`,
    );
    expect(socket.checks.map((c) => c.name)).not.toContain("server");
  });

  it("says when the volume folder is missing, except for a restore that will create it", async () => {
    const missing = path.join(root, "nowhere", "document_library");
    const readiness = await checkEnvironmentReadiness(environment({ volumePath: missing }), { toolEnv: { PATH: postgresToolsPath }, volumeRoots: [root] });
    expect(readiness.problem).toBe(`The volume folder ${missing} does not exist: an operator corrects it in the environment's settings.`);
    const fresh = path.join(root, "not-yet");
    expect(
      await checkEnvironmentReadiness(environment({ volumePath: fresh }), { purpose: "restore", toolEnv: { PATH: postgresToolsPath }, volumeRoots: [root] }),
    ).toMatchObject({
      ready: true,
    });
  });

  it("an environment without a source says why, with the note of whoever would have set it", async () => {
    const bare = environment({ dbHost: null, dbName: null, dbUser: null, volumePath: null });
    expect((await checkEnvironmentReadiness(bare, { toolEnv: { PATH: postgresToolsPath }, volumeRoots: [root] })).problem).toBe(
      "acme-dev has no database connection (engine, host, database name and user) configured: an operator sets it in the environment's settings.",
    );
    expect(missingSourceMessage(bare, "make a backup of it")).toBe(
      "acme-dev has no database connection (engine, host, database name and user) and no volume folder configured, so Lifeboat cannot make a backup of it. An operator sets them in the environment's settings.",
    );

    setSourceNote(bare.id, { database: "No PostgreSQL server answered at 127.0.0.1:5432 when Lifeboat started, so the demo has no database: …" });
    try {
      const readiness = await checkEnvironmentReadiness(bare, { toolEnv: { PATH: postgresToolsPath }, volumeRoots: [root] });
      expect(readiness.problem).toBe(
        "acme-dev has no database connection (engine, host, database name and user) configured: No PostgreSQL server answered at 127.0.0.1:5432 when Lifeboat started, so the demo has no database: …",
      );
      expect(readiness.checks.find((c) => c.name === "volume")?.text).toBe(
        "acme-dev has no volume folder configured: an operator sets it in the environment's settings.",
      );
      expect(missingSourceMessage({ ...bare, volumePath: volume }, "restore into it")).toBe(
        "acme-dev has no database connection (engine, host, database name and user) configured, so Lifeboat cannot restore into it. No PostgreSQL server answered at 127.0.0.1:5432 when Lifeboat started, so the demo has no database: …",
      );
    } finally {
      setSourceNote(bare.id, null);
    }
    expect(missingSourceMessage(environment(), "make a backup of it")).toBeNull();
  });

  it("finds tools the way spawn does: executable files on the PATH", async () => {
    expect(await isOnPath("pg_dump", { PATH: `${emptyPath}${path.delimiter}${postgresToolsPath}` })).toBe(true);
    expect(await isOnPath("mysqldump", { PATH: postgresToolsPath })).toBe(false);
    expect(await isOnPath("pg_dump", {})).toBe(false);
  });
});
