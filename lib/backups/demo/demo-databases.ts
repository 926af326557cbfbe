import postgres from "postgres";

import type { PortalData } from "./portal-data";
import { writePortalDatabase } from "./sql-dump";

/*
 * The demo environments' live databases, on a PostgreSQL server the
 * embedded default finds (DEMO_DATABASE_URL, else the local one). Each is
 * created only if absent, and carries a comment that marks it as the demo's:
 * a database of that name without the mark belongs to someone else and is
 * never touched.
 */

/** The server asked when DEMO_DATABASE_URL is not set: a local PostgreSQL as Debian's package installs it. */
export const DEFAULT_DEMO_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres";

/** How every demo database's comment starts; the only databases the demo creates, loads or points at. */
export const DEMO_DATABASE_MARK = "Lifeboat demo database";
// Until the data is in: the load and the final comment commit together, so a load that died is simply done again.
const LOADING = "(being loaded)";

const markFor = (label: string) =>
  `${DEMO_DATABASE_MARK} of ${label}: generated Liferay-like data made by the embedded default. Safe to drop; the next start makes it again.`;

export interface DemoServer {
  url: string;
  host: string;
  port: number;
  user: string;
  password: string | null;
  /** `host:port`, for messages. */
  where: string;
  /** Whether DEMO_DATABASE_URL named it (the fix to suggest differs). */
  configured: boolean;
}

export function demoServer(configuredUrl: string | undefined): DemoServer {
  const url = new URL(configuredUrl ?? DEFAULT_DEMO_DATABASE_URL);
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1") || "127.0.0.1";
  const port = Number(url.port || 5432);
  return {
    url: url.toString(),
    host,
    port,
    user: decodeURIComponent(url.username) || "postgres",
    password: url.password ? decodeURIComponent(url.password) : null,
    where: `${host}:${port}`,
    configured: configuredUrl !== undefined,
  };
}

function open(server: DemoServer, database: string | null, connectTimeoutS: number): postgres.Sql {
  const url = new URL(server.url);
  if (database) url.pathname = `/${database}`;
  return postgres(url.toString(), { max: 1, connect_timeout: connectTimeoutS, onnotice: () => {} });
}

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;
const literal = (value: string) => `'${value.replaceAll("'", "''")}'`;

/** A connection to the server's maintenance database, or one line saying why there is none and what fixes it. */
export async function connectDemoServer(server: DemoServer, connectTimeoutS = 3): Promise<{ sql: postgres.Sql } | { problem: string }> {
  const sql = open(server, null, connectTimeoutS);
  try {
    await sql`select 1`;
    return { sql };
  } catch (error) {
    await sql.end({ timeout: 1 }).catch(() => undefined);
    const code = (error as { code?: string }).code ?? "";
    const restart = server.configured ? "correct DEMO_DATABASE_URL, then restart Lifeboat" : "set DEMO_DATABASE_URL, then restart Lifeboat";
    if (["ECONNREFUSED", "CONNECT_TIMEOUT", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT"].includes(code)) {
      const fix = server.configured ? "start it or correct DEMO_DATABASE_URL" : "install and start one (apt-get install postgresql) or set DEMO_DATABASE_URL";
      return { problem: `No PostgreSQL server answered at ${server.where} when Lifeboat started, so the demo has no database: ${fix}, then restart Lifeboat.` };
    }
    return {
      problem: `The PostgreSQL server at ${server.where} refused the demo (${(error as Error).message}): give the demo a user that may create databases — ${restart}.`,
    };
  }
}

export type DemoDatabaseResult = { created: boolean; loadedRows: number } | { problem: string };

/**
 * Creates the demo database `name` if absent, marks it, and loads the portal
 * into it unless its data is already in. A database of that name that lacks
 * the mark is left alone, and said so.
 */
export async function ensureDemoDatabase(
  admin: postgres.Sql,
  server: DemoServer,
  input: { name: string; label: string; data: () => PortalData; connectTimeoutS?: number },
): Promise<DemoDatabaseResult> {
  const { name, label } = input;
  const read = async () =>
    (await admin<{ comment: string | null }[]>`select shobj_description(oid, 'pg_database') as comment from pg_database where datname = ${name}`)[0];
  let created = false;
  let found = await read();
  if (!found) {
    try {
      await admin.unsafe(`create database ${ident(name)}`);
      created = true;
    } catch (error) {
      // 42P04: another start created it a moment ago; its comment decides below.
      if ((error as { code?: string }).code !== "42P04") throw error;
    }
    if (created) {
      try {
        await admin.unsafe(`comment on database ${ident(name)} is ${literal(`${DEMO_DATABASE_MARK} of ${label} ${LOADING}`)}`);
      } catch (error) {
        // Unmarked, it would pass for someone else's database from now on; it is ours, so it goes.
        await admin.unsafe(`drop database if exists ${ident(name)}`).catch(() => undefined);
        throw error;
      }
    }
    found = await read();
  }
  if (!found?.comment?.startsWith(DEMO_DATABASE_MARK)) {
    return {
      problem: `A database ${name} already exists at ${server.where} and is not a Lifeboat demo database, so the demo leaves it alone: set DEMO_DATABASE_PREFIX to use other names, then restart Lifeboat.`,
    };
  }
  if (!found.comment.endsWith(LOADING)) return { created, loadedRows: 0 };

  const sql = open(server, name, input.connectTimeoutS ?? 3);
  try {
    const loadedRows = await sql.begin(async (tx) => {
      // Two starts loading one database: the second waits here, then finds the first's data in.
      await tx`select pg_advisory_xact_lock(hashtext(${`lifeboat-demo:${name}`}))`;
      const [current] = await tx<
        { comment: string | null }[]
      >`select shobj_description(oid, 'pg_database') as comment from pg_database where datname = ${name}`;
      if (!current?.comment?.endsWith(LOADING)) return 0;
      const rows = await writePortalDatabase(tx, input.data());
      await tx.unsafe(`comment on database ${ident(name)} is ${literal(markFor(label))}`);
      return rows;
    });
    return { created, loadedRows };
  } finally {
    await sql.end({ timeout: 5 }).catch(() => undefined);
  }
}
