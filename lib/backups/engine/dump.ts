import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import type { Readable } from "node:stream";

import type { Environment } from "@/lib/db/schema";

import { BackupError } from "./errors";

export type DumpEngine = NonNullable<Environment["dbEngine"]>;

/** An environment's database server and database, the password already decrypted: what a dump reads and a restore writes. */
export interface DatabaseConnection {
  engine: DumpEngine;
  host: string;
  port: number | null;
  database: string;
  user: string;
  password: string | null;
}

/** What a dump needs from an environment. */
export interface DatabaseSource extends DatabaseConnection {
  excludedTables: readonly string[];
  /**
   * Databases a MySQL/MariaDB dump of every database (`database` is `*`)
   * leaves out, as LCP_DUMP_DATABASES_TO_IGNORE does. PostgreSQL dumps the
   * one database named, so nothing else is in its dump to ignore.
   */
  databasesToIgnore?: readonly string[];
}

export interface ToolCommand {
  tool: string;
  args: string[];
  /** Added to the server's environment; the password travels here, never in argv (visible in `ps`). */
  env: Record<string, string>;
}

export const DUMP_TOOL: Record<DumpEngine, string> = { postgresql: "pg_dump", mysql: "mysqldump" };

/**
 * pg_dump's -T takes a pattern where `*`, `?` and `.` are special and
 * unquoted letters fold to lower case; quoting each part matches the name
 * exactly, as the environment's setting spells it (`schema.table` or `table`).
 */
export function postgresTablePattern(name: string): string {
  const quote = (part: string) => `"${part.replaceAll('"', '""')}"`;
  const dot = name.indexOf(".");
  return dot > 0 ? `${quote(name.slice(0, dot))}.${quote(name.slice(dot + 1))}` : quote(name);
}

/** The database name that means "every database on the server" (MySQL/MariaDB). */
export const ALL_DATABASES = "*";

/** The server's own databases: never part of an application's dump, even of every database. */
export const MYSQL_SYSTEM_DATABASES: readonly string[] = ["information_schema", "performance_schema", "mysql", "sys"];

/*
 * Every value that comes from an environment's settings is attached to its
 * option (`--host=…`), never an argument of its own, and positional names
 * follow `--`: whatever a value holds, no tool reads it as an option. The
 * values are also checked (lib/environments/source-fields.ts) when saved
 * and before a tool runs.
 */

export function mysqlConnectionArgs(source: DatabaseConnection): { args: string[]; env: Record<string, string> } {
  const args = ["--protocol=TCP", `--host=${source.host}`, `--user=${source.user}`];
  if (source.port) args.push(`--port=${source.port}`);
  const env: Record<string, string> = {};
  if (source.password) env.MYSQL_PWD = source.password;
  return { args, env };
}

/**
 * `databases`: what a MySQL/MariaDB dump covers; by default the source's one
 * database. For every database (`*`) the caller lists them first (see
 * resolveDumpCommand).
 */
export function dumpCommand(source: DatabaseSource, databases: readonly string[] = [source.database]): ToolCommand {
  if (source.engine === "postgresql") {
    const args = ["--format=plain", "--no-password", `--host=${source.host}`, `--username=${source.user}`];
    if (source.port) args.push(`--port=${source.port}`);
    // The whole table, definition and rows, as mysqldump's --ignore-table does: the two engines behave alike.
    for (const table of source.excludedTables) args.push(`--exclude-table=${postgresTablePattern(table)}`);
    args.push("--", source.database);
    const env: Record<string, string> = { PGCONNECT_TIMEOUT: "15" };
    if (source.password) env.PGPASSWORD = source.password;
    return { tool: "pg_dump", args, env };
  }
  // --databases with --add-drop-database, as the Liferay documents require for a dump that restores.
  const connection = mysqlConnectionArgs(source);
  const args = [
    ...connection.args,
    "--single-transaction",
    "--quick",
    // Tablespace statements need the PROCESS privilege, which an application's user rarely has.
    "--no-tablespaces",
  ];
  for (const table of source.excludedTables) {
    if (source.database !== ALL_DATABASES) args.push(`--ignore-table=${source.database}.${table}`);
    // Of every database: `db.Table` names one, a bare `Table` is left out of each.
    else if (table.includes(".")) args.push(`--ignore-table=${table}`);
    else for (const database of databases) args.push(`--ignore-table=${database}.${table}`);
  }
  args.push("--add-drop-database", "--databases", "--", ...databases);
  return { tool: "mysqldump", args, env: connection.env };
}

/** `mysql -N -B -e "SHOW DATABASES"`: one name a line, no header. */
export function listDatabasesCommand(source: DatabaseSource): ToolCommand {
  const connection = mysqlConnectionArgs(source);
  return { tool: "mysql", args: [...connection.args, "-N", "-B", "-e", "SHOW DATABASES"], env: connection.env };
}

async function toolOutput(command: ToolCommand, baseEnv: NodeJS.ProcessEnv): Promise<string> {
  const run = runTool(command, baseEnv);
  let out = "";
  run.stdout.setEncoding("utf8");
  run.stdout.on("data", (text: string) => {
    out += text;
  });
  await run.exited;
  return out;
}

/**
 * The dump command with the environment's databases to ignore applied.
 * MySQL/MariaDB with database `*`: every database on the server but the
 * system ones and the ignored ones, listed with the `mysql` client at the
 * time of the backup. A database that is both the one named and ignored is
 * a setting to fix, said so; PostgreSQL with `*` too (pg_dump reads one
 * database). Other ignored names change nothing for a named database: they
 * are not in its dump anyway.
 */
export async function resolveDumpCommand(source: DatabaseSource, baseEnv: NodeJS.ProcessEnv = process.env): Promise<ToolCommand> {
  const ignored = new Set(source.databasesToIgnore ?? []);
  if (source.database !== ALL_DATABASES) {
    if (ignored.has(source.database)) {
      throw new BackupError(
        `The database ${source.database} is both the one to back up and one of the databases to ignore. Remove it from the databases to ignore, or name another database.`,
      );
    }
    return dumpCommand(source);
  }
  if (source.engine === "postgresql") {
    throw new BackupError(`A PostgreSQL backup dumps one database, so the database name cannot be "${ALL_DATABASES}"; name the database to back up.`);
  }
  const listed = (await toolOutput(listDatabasesCommand(source), baseEnv))
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
  const databases = listed.filter((name) => !MYSQL_SYSTEM_DATABASES.includes(name.toLowerCase()) && !ignored.has(name));
  if (databases.length === 0) {
    throw new BackupError(
      `The database server at ${source.host} has no database to back up besides its system databases and the databases to ignore (${[...ignored].join(", ") || "none"}).`,
    );
  }
  return dumpCommand(source, databases);
}

export interface RunningTool {
  stdout: Readable;
  /** Resolves on exit 0; rejects with a BackupError naming the reason otherwise. */
  exited: Promise<void>;
  kill(): void;
}

const STDERR_KEEP = 16 * 1024;

/** The line of stderr a person should read: the first error, else the first line. */
export function usefulStderrLine(stderr: string): string | null {
  const lines = stderr
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !/^warning:/i.test(line) && !/^\S+: \[Warning\]/.test(line));
  const error = lines.find((line) => /error|failed|denied|refused|unknown|can't|cannot|could not/i.test(line));
  return error ?? lines[0] ?? null;
}

/**
 * Keeps a child's stderr (the first 16 KiB) and turns its exit into a
 * promise: resolved on exit 0, rejected with a BackupError that names the
 * reason (not installed, could not start, or the tool's own words). It is
 * marked handled: a caller that stopped reading early has its own error.
 */
export function watchToolExit(child: ChildProcess, tool: string): Promise<void> {
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (text: string) => {
    if (stderr.length < STDERR_KEEP) stderr += text.slice(0, STDERR_KEEP - stderr.length);
  });
  const exited = new Promise<void>((resolve, reject) => {
    let spawnError: NodeJS.ErrnoException | null = null;
    child.on("error", (error: NodeJS.ErrnoException) => {
      spawnError = error;
    });
    child.on("close", (code, signal) => {
      if (spawnError?.code === "ENOENT") return reject(new BackupError(`${tool} is not installed on the Lifeboat server (it is not on the PATH).`));
      if (spawnError) return reject(new BackupError(`${tool} could not be started: ${spawnError.message}`));
      if (code === 0) return resolve();
      const line = usefulStderrLine(stderr);
      const how = signal ? `was stopped (${signal})` : `exited with code ${code}`;
      reject(new BackupError(line ? `${tool} ${how}: ${line}` : `${tool} ${how} without saying why.`));
    });
  });
  exited.catch(() => undefined);
  return exited;
}

/** Runs a tool with stdout as a stream; stderr is kept (the first 16 KiB) for the failure reason. */
export function runTool(command: ToolCommand, baseEnv: NodeJS.ProcessEnv = process.env): RunningTool {
  const child = spawn(command.tool, command.args, {
    env: { ...baseEnv, ...command.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  // The caller may stop reading early; the tool then ends on SIGPIPE, and the reason is the caller's error.
  const exited = watchToolExit(child, command.tool);
  return {
    stdout: child.stdout,
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    },
  };
}

/** `pg_dump (PostgreSQL) 15.20 …`: the first line of `--version`, or null if the tool cannot say. */
export async function toolVersion(tool: string, baseEnv: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  const run = runTool({ tool, args: ["--version"], env: {} }, baseEnv);
  let out = "";
  run.stdout.setEncoding("utf8");
  run.stdout.on("data", (text: string) => {
    out += text;
  });
  try {
    await run.exited;
  } catch {
    return null;
  }
  return out.split("\n")[0]?.trim() || null;
}

/**
 * The server's version as the dump itself records it in its header:
 * pg_dump's `-- Dumped from database version 15.20 …`, mysqldump's
 * `-- Server version	10.11.19-MariaDB…`. Read from the stream we store
 * anyway, so there is no second connection (nor its own way to fail).
 */
export function serverVersionFromHeader(engine: DumpEngine, head: string): string | null {
  const pattern = engine === "postgresql" ? /^-- Dumped from database version (.+)$/m : /^-- Server version\s+(.+)$/m;
  return pattern.exec(head)?.[1]?.trim() ?? null;
}
