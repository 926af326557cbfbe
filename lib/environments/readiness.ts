import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import net from "node:net";
import path from "node:path";

import { ALL_DATABASES } from "@/lib/backups/engine/dump";
import type { DumpEngine } from "@/lib/backups/engine/dump";
import { missingBackupSource } from "@/lib/backups/engine/create-backup";
import type { Environment } from "@/lib/db/schema";
import { checkDatabaseSource } from "@/lib/environments/source-fields";
import { resolveVolumeFolder } from "@/lib/environments/volume-folder";
import { environmentLabel } from "@/lib/uploads/access";

/*
 * Whether an environment can be backed up (and restored into) right now, and
 * if not, one line per problem that says what is missing and the one command
 * or setting that fixes it. Create backup refuses with the first line; the
 * Settings and Backups pages show them before anyone presses a button.
 */

// ---------------------------------------------------------------------------------------------------------------
// Notes: why an environment has no source, from the code that would have set it.

/**
 * What the embedded default's demo seed found when it could not give an
 * environment a source (no database server answered, a database of that name
 * is not the demo's, …), in words that end with the fix.
 */
export interface SourceNote {
  database?: string;
  volume?: string;
  /** Set when the sources it did set are demo data: what they are and where. */
  demo?: string;
}

// The custom server seeds; Next's bundled route handlers read. Each has its own copy of this module, so the notes
// live on a process-wide symbol, as the database handle does (lib/db/client.ts).
const NOTES_KEY = Symbol.for("lifeboat.sourceNotes");
type GlobalWithNotes = typeof globalThis & { [NOTES_KEY]?: Map<string, SourceNote> };

function notes(): Map<string, SourceNote> {
  const g = globalThis as GlobalWithNotes;
  g[NOTES_KEY] ??= new Map();
  return g[NOTES_KEY];
}

/** Records (or with null, clears) why an environment has no database source or volume folder. */
export function setSourceNote(environmentId: string, note: SourceNote | null): void {
  if (note && (note.database || note.volume || note.demo)) notes().set(environmentId, note);
  else notes().delete(environmentId);
}

export function getSourceNote(environmentId: string): SourceNote | undefined {
  return notes().get(environmentId);
}

// ---------------------------------------------------------------------------------------------------------------
// The message for an environment without a source, as backups and restores refuse with it.

/**
 * "acme-dev has no database connection (…) configured, so Lifeboat cannot
 * <consequence>. <why, and the fix>", or null when both sources are set.
 */
export function missingSourceMessage(environment: Environment, consequence: string): string | null {
  const missing = missingBackupSource(environment);
  if (!missing) return null;
  const note = getSourceNote(environment.id);
  const why = [missing.includes("database") ? note?.database : undefined, missing.includes("volume") ? note?.volume : undefined].filter(Boolean);
  return `${environmentLabel(environment)} has no ${missing} configured, so Lifeboat cannot ${consequence}. ${
    why.length > 0 ? why.join(" ") : "An operator sets them in the environment's settings."
  }`;
}

// ---------------------------------------------------------------------------------------------------------------
// The checks.

export type ReadinessCheckName = "database" | "tools" | "server" | "volume";

export interface ReadinessCheck {
  name: ReadinessCheckName;
  ok: boolean;
  /** One line: what was found, or what is missing and how to fix it. */
  text: string;
}

export interface EnvironmentReadiness {
  ready: boolean;
  checks: ReadinessCheck[];
  /** The first problem's line; null when ready. */
  problem: string | null;
}

export interface ReadinessOptions {
  /** What is about to happen: a backup needs the dump tool, a restore the client; the Settings page shows both. */
  purpose?: "backup" | "restore" | "both";
  /** Where tools are looked up (PATH); the server's own environment by default. */
  toolEnv?: Record<string, string | undefined>;
  /** How long a database server may take to accept a connection. */
  connectTimeoutMs?: number;
  /**
   * Whether the texts may name the source's host, database, user and folder:
   * only for operators, whose settings they are (lib/environments/settings.ts).
   */
  showSources?: boolean;
  /** Where volume folders may be (VOLUME_ROOTS); tests name their own. */
  volumeRoots?: readonly string[];
}

/** The Debian package with each tool, for the one command that installs it. */
const TOOL_PACKAGE: Record<string, string> = {
  pg_dump: "postgresql-client",
  psql: "postgresql-client",
  mysqldump: "mariadb-client",
  mysql: "mariadb-client",
};

const ENGINE_NAME: Record<DumpEngine, string> = { postgresql: "PostgreSQL", mysql: "MySQL/MariaDB" };
const DEFAULT_PORT: Record<DumpEngine, number> = { postgresql: 5432, mysql: 3306 };

function toolsFor(engine: DumpEngine, database: string | null, purpose: NonNullable<ReadinessOptions["purpose"]>): string[] {
  const dump = engine === "postgresql" ? "pg_dump" : "mysqldump";
  const client = engine === "postgresql" ? "psql" : "mysql";
  const tools: string[] = [];
  if (purpose !== "restore") tools.push(dump);
  // A restore loads with the client; a MySQL backup of every database lists them with it first.
  if (purpose !== "backup" || (engine === "mysql" && database === ALL_DATABASES)) tools.push(client);
  return tools;
}

/** Whether `tool` is an executable file in one of PATH's folders, as spawn would find it. */
export async function isOnPath(tool: string, env: Record<string, string | undefined> = process.env): Promise<boolean> {
  for (const dir of (env.PATH ?? "").split(path.delimiter).filter(Boolean)) {
    try {
      await access(path.join(dir, tool), constants.X_OK);
      return true;
    } catch {
      // not in this folder
    }
  }
  return false;
}

function joinNames(names: string[]): string {
  return names.length <= 1 ? (names[0] ?? "") : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
}

async function checkTools(engine: DumpEngine, database: string | null, options: ReadinessOptions): Promise<ReadinessCheck> {
  const tools = toolsFor(engine, database, options.purpose ?? "both");
  const found = await Promise.all(tools.map((tool) => isOnPath(tool, options.toolEnv)));
  const missing = tools.filter((_, i) => !found[i]);
  if (missing.length === 0)
    return { name: "tools", ok: true, text: `${joinNames(tools)} ${tools.length > 1 ? "are" : "is"} installed on the Lifeboat server.` };
  const packages = [...new Set(missing.map((tool) => TOOL_PACKAGE[tool] ?? tool))];
  return {
    name: "tools",
    ok: false,
    text: `${joinNames(missing)} ${missing.length > 1 ? "are" : "is"} not installed on the Lifeboat server: apt-get install ${packages.join(" ")}`,
  };
}

/** Opens (and at once closes) a TCP connection to the server: reachable or the reason it is not. */
function probe(target: { host: string; port: number }, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = net.connect(target);
    const done = (reason: string | null) => {
      socket.destroy();
      resolve(reason);
    };
    socket.setTimeout(timeoutMs, () => done(`it did not answer within ${Math.round(timeoutMs / 100) / 10} s`));
    socket.once("connect", () => done(null));
    socket.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ECONNREFUSED") return done("the connection was refused");
      if (error.code === "ENOTFOUND" || error.code === "EAI_AGAIN") return done("the host name does not resolve");
      done(error.message);
    });
  });
}

async function checkServer(environment: Environment, engine: DumpEngine, timeoutMs: number, showSources: boolean): Promise<ReadinessCheck> {
  const host = environment.dbHost!;
  const port = environment.dbPort ?? DEFAULT_PORT[engine];
  const where = showSources ? ` at ${host}:${port}` : "";
  const reason = await probe({ host, port }, timeoutMs);
  if (!reason)
    return { name: "server", ok: true, text: `The ${ENGINE_NAME[engine]} server${where} answers${showSources ? ` (database ${environment.dbName})` : ""}.` };
  return {
    name: "server",
    ok: false,
    text: `No ${ENGINE_NAME[engine]} server answers${where} (${reason}): start it, or an operator corrects the host and port in the environment's settings.`,
  };
}

/** The folder as backups and restores will resolve it: inside the volume roots (lib/environments/volume-folder.ts). */
async function checkVolume(volumePath: string, options: ReadinessOptions, showSources: boolean): Promise<ReadinessCheck> {
  const folder = await resolveVolumeFolder(volumePath, { roots: options.volumeRoots, mayBeMissing: options.purpose === "restore" });
  const named = showSources ? ` ${volumePath}` : "";
  if (!folder.ok) {
    // The reason names the folder where it lies inside the roots, and nothing outside them.
    return { name: "volume", ok: false, text: `The volume folder ${folder.reason}: an operator corrects it in the environment's settings.` };
  }
  try {
    await stat(folder.path);
    return { name: "volume", ok: true, text: `The volume folder${named} exists, inside the volume roots.` };
  } catch {
    // A restore creates the folder when its parent exists (the swap puts the restored one in place).
    return { name: "volume", ok: true, text: `The volume folder${named} does not exist yet; a restore creates it.` };
  }
}

/**
 * Checks, in this order, what a backup or restore of the environment needs:
 * a database connection of the shape the tools accept and the tools for its
 * engine, the database server answering, and the volume folder. Nothing is
 * logged in to: the server check opens a TCP connection and closes it.
 */
export async function checkEnvironmentReadiness(environment: Environment, options: ReadinessOptions = {}): Promise<EnvironmentReadiness> {
  const showSources = options.showSources ?? true;
  const label = environmentLabel(environment);
  const note = getSourceNote(environment.id);
  const checks: Promise<ReadinessCheck>[] = [];
  const engine = environment.dbEngine;
  const hasDatabase = Boolean(engine && environment.dbHost && environment.dbName && environment.dbUser);
  // The shape the tools are run with (lib/environments/source-fields.ts); a row saved before those rules may break it.
  const invalid = hasDatabase
    ? checkDatabaseSource({ host: environment.dbHost!, database: environment.dbName!, user: environment.dbUser!, port: environment.dbPort })
    : null;

  if (!hasDatabase) {
    checks.push(
      Promise.resolve({
        name: "database",
        ok: false,
        text: `${label} has no database connection (engine, host, database name and user) configured: ${
          note?.database ?? "an operator sets it in the environment's settings."
        }`,
      }),
    );
  } else if (invalid) {
    checks.push(
      Promise.resolve({
        name: "database",
        ok: false,
        text: `${label}'s database source cannot be used: ${invalid}; an operator corrects it in the environment's settings.`,
      }),
    );
  } else {
    checks.push(
      Promise.resolve({
        name: "database",
        ok: true,
        text: showSources
          ? `Database: ${ENGINE_NAME[engine!]} ${environment.dbName} at ${environment.dbHost}:${environment.dbPort ?? DEFAULT_PORT[engine!]} as ${environment.dbUser}.`
          : `Database: ${ENGINE_NAME[engine!]}, set by an operator.`,
      }),
    );
  }
  if (engine) checks.push(checkTools(engine, environment.dbName, options));
  if (hasDatabase && !invalid) checks.push(checkServer(environment, engine!, options.connectTimeoutMs ?? 2_000, showSources));
  checks.push(
    environment.volumePath
      ? checkVolume(environment.volumePath, options, showSources)
      : Promise.resolve({
          name: "volume",
          ok: false,
          text: `${label} has no volume folder configured: ${note?.volume ?? "an operator sets it in the environment's settings."}`,
        }),
  );

  const settled = await Promise.all(checks);
  const problem = settled.find((check) => !check.ok)?.text ?? null;
  return { ready: problem === null, checks: settled, problem };
}
