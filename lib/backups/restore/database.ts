import { spawn } from "node:child_process";
import type { Readable, Transform, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";

import postgres from "postgres";

import { databaseConnection } from "@/lib/backups/engine/create-backup";
import { mysqlConnectionArgs, runTool, watchToolExit } from "@/lib/backups/engine/dump";
import type { DatabaseConnection, DumpEngine, ToolCommand } from "@/lib/backups/engine/dump";
import { BackupError, isBackupError } from "@/lib/backups/engine/errors";
import { expansionGuard, explainGzipError, gunzip, isExpansionLimitError } from "@/lib/backups/verify/gzip";
import type { ExpansionCheck } from "@/lib/backups/verify/gzip";
import { isVerificationError } from "@/lib/backups/verify/errors";
import type { Environment } from "@/lib/db/schema";
import { ChecksumMismatchError } from "@/lib/uploads/digest";

import { MysqlGuard, PsqlGuard } from "./client-guard";
import { mysqlDatabaseEditor, postgresOwnerEditor, quoteMysqlIdentifier, SqlLineTransform } from "./sql-lines";

/*
 * The database half of a restore. The dump is loaded into a staging database
 * beside the live one on the same server, and only a complete, error-free
 * load is swapped in — by renames, in one transaction (PostgreSQL) or one
 * atomic RENAME TABLE (MySQL/MariaDB). Until then the live database is not
 * touched, so a failed load, a corrupt file or a dead worker leave it as it was.
 */

/** What a restore needs from the target environment: its database connection. */
export type DatabaseTarget = DatabaseConnection;

/** Where a restore into this environment goes; a BackupError names what is missing. */
export function databaseTarget(environment: Environment): DatabaseTarget {
  return databaseConnection(environment, "so there is nowhere to restore to");
}

/** `<db>_lbstage_<id>` and `<db>_lbold_<id>`, cut to the engine's name limit (PostgreSQL 63 bytes, MySQL 64 characters). */
export function databaseNames(engine: DumpEngine, database: string, short: string): { staging: string; old: string } {
  const limit = engine === "postgresql" ? 63 : 64;
  const fit = (suffix: string) => {
    let base = database;
    while (Buffer.byteLength(base + suffix) > limit) base = base.slice(0, -1);
    return base + suffix;
  };
  return { staging: fit(`_lbstage_${short}`), old: fit(`_lbold_${short}`) };
}

export interface LoadInput {
  /** database.gz as storage returns it. */
  source: Readable;
  /** Between storage and gunzip: progress counting, SHA-256 check. */
  transforms: Transform[];
  /** How far the dump may expand (MAX_EXPANDED_SIZE, MAX_EXPANSION_RATIO), judged right after gunzip. */
  expansion: ExpansionCheck;
  signal: AbortSignal;
}

export interface DatabaseRestorer {
  readonly names: { target: string; staging: string; old: string };
  /** The server's own version string (`SHOW server_version`, `SELECT VERSION()`). */
  serverVersion(): Promise<string | null>;
  /** Creates the staging database (dropping a leftover one) and loads the dump into it. */
  load(input: LoadInput): Promise<void>;
  /** The staged database becomes the live one; the live one is kept under the old name. */
  swap(): Promise<void>;
  /** Undoes `swap` (the document library's swap failed after it). */
  unswap(): Promise<void>;
  /** Drops the staging database, and with `old` the database the swap replaced. */
  cleanup(input: { old: boolean }): Promise<void>;
  /** Which of the restore's databases exist now (after a crash: how far it got). */
  leftovers(): Promise<{ staging: boolean; old: boolean }>;
  close(): Promise<void>;
}

export function databaseRestorer(target: DatabaseTarget, short: string, toolEnv: NodeJS.ProcessEnv = process.env): DatabaseRestorer {
  return target.engine === "postgresql" ? new PostgresRestorer(target, short, toolEnv) : new MysqlRestorer(target, short, toolEnv);
}

// ---------------------------------------------------------------------------------------------------------------
// Loading: storage → checks → gunzip → line edits → psql/mysql stdin.

interface RunningLoader {
  stdin: Writable;
  exited: Promise<void>;
  kill(): void;
}

/** Like dump.ts's runTool, the other way round: stdin is ours, stdout is ignored, stderr keeps the reason. */
function runLoader(command: ToolCommand, baseEnv: NodeJS.ProcessEnv, stdout?: (text: string) => void): RunningLoader {
  const child = spawn(command.tool, command.args, { env: { ...baseEnv, ...command.env }, stdio: ["pipe", "pipe", "pipe"] });
  child.stdout.setEncoding("utf8");
  // psql prints the results of the dump's SELECTs (set_config); nobody reads them.
  if (stdout) child.stdout.on("data", stdout);
  else child.stdout.resume();
  // A tool that exits early (a failed statement) makes our writes fail with EPIPE; its exit code tells why.
  child.stdin.on("error", () => undefined);
  return {
    stdin: child.stdin,
    exited: watchToolExit(child, command.tool),
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}

function readableFailure(error: unknown): unknown {
  if (error instanceof ChecksumMismatchError) {
    return new BackupError(
      `database.gz does not match the SHA-256 the backup recorded (it reads as ${error.actual}, not ${error.expected}): it was changed or damaged in storage. Nothing was restored.`,
      { cause: error },
    );
  }
  if (isExpansionLimitError(error)) return new BackupError(`${error.message} Nothing was restored; the environment is unchanged.`, { cause: error });
  const gzip = explainGzipError("database.gz", error);
  if (isVerificationError(gzip)) return new BackupError(`${gzip.message}. Nothing was restored.`, { cause: error });
  return error;
}

const PIPE_CODES = new Set(["EPIPE", "ERR_STREAM_DESTROYED", "ERR_STREAM_PREMATURE_CLOSE", "ECONNRESET"]);

/**
 * Streams the dump into the loader. The loader commits only when its stdin
 * ends cleanly; any failure upstream (a damaged file, a SHA-256 mismatch,
 * storage) kills it first, so a partial dump is never committed — and even
 * then it would be the staging database only.
 */
async function streamInto(loader: RunningLoader, input: LoadInput, edits: Transform[]): Promise<void> {
  const expanded = expansionGuard("database.gz", input.expansion);
  const piped = pipeline([input.source, ...input.transforms, gunzip(), expanded, ...edits, loader.stdin], { signal: input.signal }).catch((error: unknown) => {
    loader.kill();
    throw error;
  });
  const [pipe, exit] = await Promise.allSettled([piped, loader.exited]);
  if (pipe.status === "rejected") {
    const code = (pipe.reason as NodeJS.ErrnoException | null)?.code ?? "";
    // The tool stopped reading because it failed: its own words are the reason.
    if (PIPE_CODES.has(code) && exit.status === "rejected") throw exit.reason;
    throw readableFailure(pipe.reason);
  }
  if (exit.status === "rejected") throw exit.reason;
}

// ---------------------------------------------------------------------------------------------------------------
// PostgreSQL

function pgIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function pgLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class PostgresRestorer implements DatabaseRestorer {
  readonly names: { target: string; staging: string; old: string };
  #sql: postgres.Sql | null = null;

  constructor(
    readonly target: DatabaseTarget,
    readonly short: string,
    readonly toolEnv: NodeJS.ProcessEnv,
  ) {
    this.names = { target: target.database, ...databaseNames("postgresql", target.database, short) };
  }

  get #where(): string {
    return `PostgreSQL at ${this.target.host}:${this.target.port ?? 5432}`;
  }

  /** A connection to the server's maintenance database: renaming or dropping a database needs one outside it. */
  async #connect(): Promise<postgres.Sql> {
    if (this.#sql) return this.#sql;
    const open = (database: string) =>
      postgres({
        host: this.target.host,
        port: this.target.port ?? 5432,
        user: this.target.user,
        password: this.target.password ?? undefined,
        database,
        max: 1,
        connect_timeout: 15,
        onnotice: () => {},
      });
    let sql = open("postgres");
    try {
      await sql`select 1`;
    } catch (error) {
      await sql.end({ timeout: 1 }).catch(() => undefined);
      if ((error as { code?: string }).code !== "3D000") throw this.#explain(error, "Could not connect");
      sql = open("template1");
      try {
        await sql`select 1`;
      } catch (retry) {
        await sql.end({ timeout: 1 }).catch(() => undefined);
        throw this.#explain(retry, "Could not connect");
      }
    }
    this.#sql = sql;
    return sql;
  }

  #explain(error: unknown, what: string): unknown {
    if (isBackupError(error)) return error;
    const message = (error as Error | null)?.message;
    if (!message) return error;
    return new BackupError(`${what} (${this.#where}): ${message}`, { cause: error });
  }

  async #run<T>(what: string, fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
    const sql = await this.#connect();
    try {
      return await fn(sql);
    } catch (error) {
      throw this.#explain(error, what);
    }
  }

  async serverVersion(): Promise<string | null> {
    return this.#run("Could not read the server version", async (sql) => {
      const [row] = await sql<{ server_version: string }[]>`show server_version`;
      return row?.server_version ?? null;
    });
  }

  async #exists(name: string): Promise<boolean> {
    return this.#run("Could not list the databases", async (sql) => (await sql`select 1 from pg_database where datname = ${name}`).length > 0);
  }

  async #terminate(sql: postgres.Sql, name: string): Promise<void> {
    await sql`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${name} and pid <> pg_backend_pid()`;
  }

  async #drop(name: string): Promise<void> {
    await this.#run(`Could not drop the database ${name}`, async (sql) => {
      await this.#terminate(sql, name);
      await sql.unsafe(`drop database if exists ${pgIdent(name)}`);
    });
  }

  async load(input: LoadInput): Promise<void> {
    const { staging, target } = this.names;
    await this.#drop(staging);
    await this.#run(`Could not create the staging database ${staging}`, async (sql) => {
      // Same encoding, collation, owner and comment as the live database, so the swap changes its contents only.
      const [like] = await sql<{ encoding: string; collate: string; ctype: string; owner: string; comment: string | null }[]>`
        select pg_encoding_to_char(d.encoding) as encoding, d.datcollate as collate, d.datctype as ctype, r.rolname as owner,
          shobj_description(d.oid, 'pg_database') as comment
        from pg_database d join pg_roles r on r.oid = d.datdba where d.datname = ${target}`;
      const options = like ? ` encoding ${pgLiteral(like.encoding)} lc_collate ${pgLiteral(like.collate)} lc_ctype ${pgLiteral(like.ctype)}` : "";
      await sql.unsafe(`create database ${pgIdent(staging)} template template0${options}`);
      if (like && like.owner !== this.target.user) {
        await sql.unsafe(`alter database ${pgIdent(staging)} owner to ${pgIdent(like.owner)}`).catch(() => undefined);
      }
      // A comment can mark what a database is (the demo's are marked so); plain-format dumps do not carry it.
      if (like?.comment) await sql.unsafe(`comment on database ${pgIdent(staging)} is ${pgLiteral(like.comment)}`).catch(() => undefined);
    });
    const args = [
      "-X",
      "-q",
      "-v",
      "ON_ERROR_STOP=1",
      "--single-transaction",
      "--no-password",
      `--host=${this.target.host}`,
      `--username=${this.target.user}`,
      ...(this.target.port ? [`--port=${this.target.port}`] : []),
      // Values attached to their options and the name after "--": nothing from the settings is read as an option.
      "--",
      staging,
    ];
    const env: Record<string, string> = { PGCONNECT_TIMEOUT: "15", PGOPTIONS: "-c client_min_messages=warning" };
    if (this.target.password) env.PGPASSWORD = this.target.password;
    await streamInto(runLoader({ tool: "psql", args, env }, this.toolEnv), input, [new SqlLineTransform(postgresOwnerEditor()), new PsqlGuard()]);
  }

  /**
   * Both renames in one transaction: the live database is either the old one
   * or the restored one, never missing. Sessions on it are ended first (a
   * database in use cannot be renamed); one that reconnects in between makes
   * the rename fail with 55006, and it is tried again.
   */
  async swap(): Promise<void> {
    const { target, staging, old } = this.names;
    const hadTarget = await this.#exists(target);
    await this.#run(`Could not swap the restored database in as ${target}`, async (sql) => {
      for (let attempt = 1; ; attempt++) {
        try {
          if (hadTarget) await this.#terminate(sql, target);
          await this.#terminate(sql, staging);
          await sql.begin(async (tx) => {
            if (hadTarget) await tx.unsafe(`alter database ${pgIdent(target)} rename to ${pgIdent(old)}`);
            await tx.unsafe(`alter database ${pgIdent(staging)} rename to ${pgIdent(target)}`);
          });
          return;
        } catch (error) {
          if ((error as { code?: string }).code !== "55006" || attempt >= 5) throw error;
          await sleep(200 * attempt);
        }
      }
    });
  }

  async unswap(): Promise<void> {
    const { target, staging, old } = this.names;
    if (!(await this.#exists(old))) return;
    await this.#run(`Could not put the previous database back as ${target}`, async (sql) => {
      await this.#terminate(sql, target);
      await sql.begin(async (tx) => {
        await tx.unsafe(`alter database ${pgIdent(target)} rename to ${pgIdent(staging)}`);
        await tx.unsafe(`alter database ${pgIdent(old)} rename to ${pgIdent(target)}`);
      });
    });
    await this.#drop(staging);
  }

  async cleanup({ old }: { old: boolean }): Promise<void> {
    await this.#drop(this.names.staging);
    if (old) await this.#drop(this.names.old);
  }

  async leftovers(): Promise<{ staging: boolean; old: boolean }> {
    return { staging: await this.#exists(this.names.staging), old: await this.#exists(this.names.old) };
  }

  async close(): Promise<void> {
    await this.#sql?.end({ timeout: 5 }).catch(() => undefined);
    this.#sql = null;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// MySQL / MariaDB
//
// Limitations: RENAME TABLE moves tables (and their foreign keys) between
// databases, but MySQL refuses to move views or tables with triggers, and
// stored routines and events belong to a database and cannot move at all.
// A Liferay schema has none of them; a restore whose dump or target has any
// is refused before anything is swapped, rather than losing them silently.

const sandboxFlags = new Map<string, Promise<string[]>>();

/**
 * The client's own switch against shell and file commands, where it has
 * one: MariaDB's --sandbox (10.5.25+), MySQL's --system-command=OFF
 * (8.0.40+). MysqlGuard refuses such commands anyway; this also holds if a
 * dump found a way past the guard's reading of quotes (NO_BACKSLASH_ESCAPES).
 */
function mysqlSandboxFlags(toolEnv: NodeJS.ProcessEnv): Promise<string[]> {
  const key = toolEnv.PATH ?? "";
  let flags = sandboxFlags.get(key);
  if (!flags) {
    const accepts = (flag: string) => {
      const run = runTool({ tool: "mysql", args: [flag, "--version"], env: {} }, toolEnv);
      run.stdout.resume();
      return run.exited.then(
        () => true,
        () => false,
      );
    };
    flags = (async () => ((await accepts("--sandbox")) ? ["--sandbox"] : (await accepts("--system-command=OFF")) ? ["--system-command=OFF"] : []))();
    sandboxFlags.set(key, flags);
  }
  return flags;
}

function mysqlLiteral(value: string): string {
  return `'${value.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}

class MysqlRestorer implements DatabaseRestorer {
  readonly names: { target: string; staging: string; old: string };

  constructor(
    readonly target: DatabaseTarget,
    readonly short: string,
    readonly toolEnv: NodeJS.ProcessEnv,
  ) {
    this.names = { target: target.database, ...databaseNames("mysql", target.database, short) };
  }

  #command(extra: string[]): ToolCommand {
    const connection = mysqlConnectionArgs(this.target);
    return { tool: "mysql", args: [...connection.args, ...extra], env: connection.env };
  }

  /** Runs statements through the mysql client (stdin, so no length limit); rows come back tab-separated. */
  async #query(statements: string, what: string): Promise<string[][]> {
    let out = "";
    const run = runLoader(this.#command(["--batch", "--skip-column-names", "--raw"]), this.toolEnv, (text) => {
      out += text;
    });
    run.stdin.end(statements);
    try {
      await run.exited;
    } catch (error) {
      if (isBackupError(error)) throw new BackupError(`${what}: ${error.message}`, { cause: error });
      throw error;
    }
    return out
      .split("\n")
      .filter((line) => line.length > 0)
      .map((line) => line.split("\t"));
  }

  async serverVersion(): Promise<string | null> {
    const rows = await this.#query("select version();", "Could not read the server version");
    return rows[0]?.[0] ?? null;
  }

  async #exists(name: string): Promise<boolean> {
    const rows = await this.#query(`select 1 from information_schema.schemata where schema_name = ${mysqlLiteral(name)};`, "Could not list the databases");
    return rows.length > 0;
  }

  async #tables(database: string): Promise<{ name: string; type: string }[]> {
    const rows = await this.#query(
      `select table_name, table_type from information_schema.tables where table_schema = ${mysqlLiteral(database)} order by table_name;`,
      `Could not list the tables of ${database}`,
    );
    return rows.map(([name, type]) => ({ name: name!, type: type ?? "BASE TABLE" }));
  }

  /** Views, triggers, routines and events in a database: what RENAME TABLE cannot carry over. */
  async #immovables(database: string): Promise<string[]> {
    const lit = mysqlLiteral(database);
    const rows = await this.#query(
      `select concat('view ', table_name) from information_schema.views where table_schema = ${lit}
       union all select concat('trigger ', trigger_name) from information_schema.triggers where trigger_schema = ${lit}
       union all select concat(lower(routine_type), ' ', routine_name) from information_schema.routines where routine_schema = ${lit}
       union all select concat('event ', event_name) from information_schema.events where event_schema = ${lit};`,
      `Could not inspect ${database}`,
    );
    return rows.map((row) => row[0]!);
  }

  async load(input: LoadInput): Promise<void> {
    const { staging, target } = this.names;
    const charset = await this.#query(
      `select default_character_set_name, default_collation_name from information_schema.schemata where schema_name = ${mysqlLiteral(target)};`,
      "Could not read the live database's character set",
    );
    const [cs, collation] = charset[0] ?? [];
    const options = cs && collation ? ` character set ${cs} collate ${collation}` : "";
    await this.#query(
      `drop database if exists ${quoteMysqlIdentifier(staging)}; create database ${quoteMysqlIdentifier(staging)}${options};`,
      `Could not create the staging database ${staging}`,
    );
    // The staging database is also the default one, for a dump made without --databases (no USE of its own).
    const loader = runLoader(this.#command(["--batch", "--max-allowed-packet=1G", ...(await mysqlSandboxFlags(this.toolEnv)), "--", staging]), this.toolEnv);
    await streamInto(loader, input, [new SqlLineTransform(mysqlDatabaseEditor(staging)), new MysqlGuard(quoteMysqlIdentifier(staging))]);
  }

  /** One RENAME TABLE moves every live table aside and every restored one in: atomic, as MySQL documents it. */
  async swap(): Promise<void> {
    const { target, staging, old } = this.names;
    for (const database of [staging, target]) {
      const immovable = (await this.#exists(database)) ? await this.#immovables(database) : [];
      if (immovable.length > 0) {
        throw new BackupError(
          `${database} has ${immovable.slice(0, 5).join(", ")}${immovable.length > 5 ? " and more" : ""}, which a restore cannot swap in (MySQL moves only tables between databases). Nothing was changed.`,
        );
      }
    }
    const liveTables = (await this.#exists(target)) ? await this.#tables(target) : [];
    const stagedTables = await this.#tables(staging);
    const q = quoteMysqlIdentifier;
    const moves = [
      ...liveTables.map((t) => `${q(target)}.${q(t.name)} to ${q(old)}.${q(t.name)}`),
      ...stagedTables.map((t) => `${q(staging)}.${q(t.name)} to ${q(target)}.${q(t.name)}`),
    ];
    await this.#query(
      `create database if not exists ${q(target)}; drop database if exists ${q(old)}; create database ${q(old)};${moves.length > 0 ? ` rename table ${moves.join(", ")};` : ""}`,
      `Could not swap the restored database in as ${target}`,
    );
    await this.#query(`drop database if exists ${q(staging)};`, `Could not drop the staging database ${staging}`);
  }

  async unswap(): Promise<void> {
    const { target, staging, old } = this.names;
    if (!(await this.#exists(old))) return;
    const q = quoteMysqlIdentifier;
    const restored = await this.#tables(target);
    const previous = await this.#tables(old);
    const moves = [
      ...restored.map((t) => `${q(target)}.${q(t.name)} to ${q(staging)}.${q(t.name)}`),
      ...previous.map((t) => `${q(old)}.${q(t.name)} to ${q(target)}.${q(t.name)}`),
    ];
    await this.#query(
      `create database if not exists ${q(staging)};${moves.length > 0 ? ` rename table ${moves.join(", ")};` : ""} drop database ${q(old)}; drop database ${q(staging)};`,
      `Could not put the previous database back as ${target}`,
    );
  }

  async cleanup({ old }: { old: boolean }): Promise<void> {
    await this.#query(
      `drop database if exists ${quoteMysqlIdentifier(this.names.staging)};${old ? ` drop database if exists ${quoteMysqlIdentifier(this.names.old)};` : ""}`,
      "Could not drop the restore's temporary databases",
    );
  }

  async leftovers(): Promise<{ staging: boolean; old: boolean }> {
    return { staging: await this.#exists(this.names.staging), old: await this.#exists(this.names.old) };
  }

  async close(): Promise<void> {}
}
