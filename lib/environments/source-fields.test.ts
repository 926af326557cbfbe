import { describe, expect, it } from "vitest";

import { dumpCommand } from "@/lib/backups/engine/dump";
import type { DatabaseSource } from "@/lib/backups/engine/dump";

import { checkDatabaseSource, isDatabaseHost, isDatabaseName, isDatabaseUser } from "./source-fields";

describe("database source fields", () => {
  it("take host names, IP addresses, identifiers and user names", () => {
    for (const host of ["db", "db.internal", "pg-1.eu-west.rds.amazonaws.com", "10.0.0.5", "::1", "fd00::5"]) expect(isDatabaseHost(host), host).toBe(true);
    for (const name of ["lportal", "acme_prd", "Liferay-DXP", "db$1", "*"]) expect(isDatabaseName(name), name).toBe(true);
    for (const user of ["postgres", "liferay.app", "app@acme-pg", "svc_backup"]) expect(isDatabaseUser(user), user).toBe(true);
  });

  it("refuse what a tool would read as an option, a connection string, a socket or a second argument", () => {
    for (const host of ["-oProxyCommand=x", "--host=evil", "/var/run/postgresql", "db internal", "db;id", "", "a".repeat(254), "db\n"]) {
      expect(isDatabaseHost(host), host).toBe(false);
    }
    for (const name of ["--result-file=/tmp/x", "-x", "host=10.0.0.5 dbname=x", "postgresql://evil/x", "a b", "x'y", "db\0", "a".repeat(64), ""]) {
      expect(isDatabaseName(name), name).toBe(false);
    }
    for (const user of ["--user=root", "-u", "a b", "x=y", ""]) expect(isDatabaseUser(user), user).toBe(false);
  });

  it("names the first bad field, for a row saved before the rules", () => {
    expect(checkDatabaseSource({ host: "db", database: "--result-file=/tmp/x", user: "u", port: null })).toBe(
      'the database name "--result-file=/tmp/x" is not a plain database name',
    );
    expect(checkDatabaseSource({ host: "db", database: "lportal", user: "u", port: 5432 })).toBeNull();
  });
});

describe("dump commands", () => {
  const hostile: DatabaseSource = {
    engine: "postgresql",
    host: "-h",
    port: 5432,
    database: "--file=/tmp/x",
    user: "--no-such",
    password: null,
    excludedTables: ["-t"],
  };

  it("attach every setting to its option and put names after --, so no value is read as an option", () => {
    for (const engine of ["postgresql", "mysql"] as const) {
      const { args } = dumpCommand({ ...hostile, engine });
      const separator = args.indexOf("--");
      expect(separator, engine).toBeGreaterThan(0);
      // Before "--", every argument is an option of ours, with any value after "=".
      for (const arg of args.slice(0, separator)) expect(arg, `${engine}: ${arg}`).toMatch(/^--[a-z-]+(=|$)/);
      expect(args.slice(separator + 1), engine).toEqual(["--file=/tmp/x"]);
      expect(args, engine).toEqual(expect.arrayContaining(["--host=-h", engine === "postgresql" ? "--username=--no-such" : "--user=--no-such"]));
    }
  });
});
