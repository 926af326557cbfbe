import type { Environment } from "@/lib/db/schema";

export type DatabaseEngine = NonNullable<Environment["dbEngine"]>;

export const ENGINE_LABEL: Record<DatabaseEngine, string> = {
  postgresql: "PostgreSQL",
  mysql: "MySQL/MariaDB",
};

export type DumpDialect =
  { kind: "sql"; engine: DatabaseEngine | null; serverVersion: string | null; dumpTool: string | null } | { kind: "not-sql"; reason: string };

// Each marker is something only that engine's dump tool writes near the top.
const POSTGRES_MARKERS = [
  /^-- PostgreSQL database dump/m,
  /^-- Dumped (?:from database|by pg_dump) version/m,
  /^SET statement_timeout\s*=/m,
  /^SELECT pg_catalog\.set_config\(/m,
  /^COPY\s+\S+(?:\s*\([^)\n]*\))?\s+FROM\s+stdin;/m,
];
const MYSQL_MARKERS = [
  /^-- MySQL dump/m,
  /^-- MariaDB dump/m,
  /^\/\*!\d{5}\s+SET\s/m,
  /^(?:CREATE TABLE|INSERT INTO|LOCK TABLES|DROP TABLE IF EXISTS|USE)\s+`/m,
];
const ANY_STATEMENT =
  /^\s*(?:CREATE|INSERT\s+INTO|DROP|ALTER|SET|COPY|BEGIN|START\s+TRANSACTION|USE|LOCK\s+TABLES|UNLOCK\s+TABLES|COMMIT|GRANT|COMMENT\s+ON)\b/im;

function countMatches(text: string, patterns: readonly RegExp[]): number {
  return patterns.filter((pattern) => pattern.test(text)).length;
}

function binaryFormat(head: Buffer): string | null {
  if (head[0] === 0x1f && head[1] === 0x8b) {
    return "is compressed twice (a .gz inside the .gz): decompress it once and upload the inner file";
  }
  if (head.length >= 262 && head.toString("latin1", 257, 262) === "ustar") {
    return "holds a tar archive, not a SQL dump: upload the gzip'd SQL dump itself (`… | gzip -c > database.gz`)";
  }
  if (head.toString("latin1", 0, 5) === "PGDMP") {
    return "is a pg_dump custom-format archive (pg_dump -Fc); upload a plain SQL dump instead (`pg_dump … | gzip -c > database.gz`)";
  }
  if (head.toString("latin1", 0, 4) === "PK\x03\x04") return "holds a zip archive, not a SQL dump";
  if (head.includes(0)) return "holds binary data, not a SQL dump";
  return null;
}

function versions(text: string, engine: DatabaseEngine | null): { serverVersion: string | null; dumpTool: string | null } {
  if (engine === "postgresql") {
    const server = /^-- Dumped from database version (\S+)/m.exec(text)?.[1] ?? null;
    const tool = /^-- Dumped by pg_dump version (\S+)/m.exec(text)?.[1];
    return { serverVersion: server, dumpTool: tool ? `pg_dump ${tool}` : null };
  }
  if (engine === "mysql") {
    const tool = /^-- (MySQL|MariaDB) dump ([\d.]+)\s+Distrib ([^\s,]+)/m.exec(text);
    const server = /^-- Server version\s+(\S+)/m.exec(text)?.[1] ?? null;
    const toolName = tool?.[1] === "MariaDB" ? "mariadb-dump" : "mysqldump";
    return { serverVersion: server, dumpTool: tool ? `${toolName} ${tool[2]} (Distrib ${tool[3]})` : null };
  }
  return { serverVersion: null, dumpTool: null };
}

/**
 * Decides from the first decompressed bytes whether this is a plain SQL dump
 * and which engine wrote it. Dump tools announce themselves in their first
 * lines, so a small head is enough and the rest of the file never has to be
 * held in memory.
 */
export function detectDumpDialect(head: Buffer): DumpDialect {
  if (head.length === 0) return { kind: "not-sql", reason: "is empty once decompressed" };
  const binary = binaryFormat(head);
  if (binary) return { kind: "not-sql", reason: binary };

  const text = head.toString("latin1");
  const postgres = countMatches(text, POSTGRES_MARKERS);
  const mysql = countMatches(text, MYSQL_MARKERS);
  if (postgres === 0 && mysql === 0 && !ANY_STATEMENT.test(text)) {
    return { kind: "not-sql", reason: `does not look like a SQL dump: its first ${Math.ceil(head.length / 1024)} KiB hold no SQL statements` };
  }
  const engine = postgres > mysql ? "postgresql" : mysql > postgres ? "mysql" : null;
  return { kind: "sql", engine, ...versions(text, engine) };
}

export interface TableName {
  name: string;
  /** Unquoted PostgreSQL identifiers are folded to lower case by the server; quoted ones keep their case. */
  quoted: boolean;
}

const IDENTIFIER = /`(?:[^`]|``)+`|"(?:[^"]|"")+"|[^\s.(`"]+/g;
const CREATE_TABLE_HEAD =
  /^create\s+(?:(?:global|local)\s+)?(?:(?:temporary|temp|unlogged)\s+)?table\s+(?:if\s+not\s+exists\s+)?((?:`(?:[^`]|``)+`|"(?:[^"]|"")+"|[^\s.(`"]+)(?:\s*\.\s*(?:`(?:[^`]|``)+`|"(?:[^"]|"")+"|[^\s.(`"]+))*)/i;

/** The table a `CREATE TABLE` line creates (its last name part, without a schema or database qualifier). */
export function parseCreateTable(line: string): TableName | null {
  const qualified = CREATE_TABLE_HEAD.exec(line)?.[1];
  if (!qualified) return null;
  const parts = qualified.match(IDENTIFIER);
  const last = parts?.at(-1);
  if (!last) return null;
  const decode = (latin1: string) => Buffer.from(latin1, "latin1").toString("utf8");
  if (last.startsWith("`")) return { name: decode(last.slice(1, -1).replaceAll("``", "`")), quoted: true };
  if (last.startsWith('"')) return { name: decode(last.slice(1, -1).replaceAll('""', '"')), quoted: true };
  return { name: decode(last), quoted: false };
}

const NEEDLES = [Buffer.from("CREATE TABLE"), Buffer.from("create table")];
const NEEDLE_LENGTH = 12;
const NEWLINE = 0x0a;
/** Enough of a `CREATE TABLE` line to hold any qualified name. */
const MAX_HEAD = 1024;
/** Distinct names kept; a hostile file with millions of tables cannot grow memory without bound. */
const MAX_TRACKED_TABLES = 100_000;

/**
 * Collects the names of `CREATE TABLE` statements that start a line, across a
 * stream of any size. Only the few bytes that may straddle two chunks are
 * copied; everything else is searched in place with Buffer.indexOf.
 */
export class CreateTableScanner {
  #carry: Buffer = Buffer.alloc(0);
  /** The byte before the first byte of the next buffer scanned; the stream's start counts as a line start. */
  #previousByte = NEWLINE;
  readonly #tables = new Map<string, TableName>();
  #statements = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    const buffer = this.#carry.length > 0 ? Buffer.concat([this.#carry, chunk]) : chunk;
    const keepFrom = this.#scan(buffer);
    const tail = keepFrom < buffer.length ? buffer.subarray(keepFrom) : null;
    this.#previousByte = keepFrom > 0 ? (buffer[keepFrom - 1] ?? NEWLINE) : this.#previousByte;
    // A copy, so the carry does not keep a whole 256 KiB chunk alive.
    this.#carry = tail ? Buffer.from(tail) : Buffer.alloc(0);
  }

  /** Call once at the end of the stream: a last line without a newline still counts. */
  end(): void {
    if (this.#carry.length > 0) this.#record(this.#carry.subarray(0, MAX_HEAD));
    this.#carry = Buffer.alloc(0);
  }

  get statements(): number {
    return this.#statements;
  }

  tables(): TableName[] {
    return [...this.#tables.values()];
  }

  /** Records every statement it can; returns where the bytes to carry into the next chunk begin. */
  #scan(buffer: Buffer): number {
    let keepFrom = buffer.length;
    const before = (index: number) => (index === 0 ? this.#previousByte : buffer[index - 1]);
    for (const needle of NEEDLES) {
      for (let index = buffer.indexOf(needle); index !== -1; index = buffer.indexOf(needle, index + 1)) {
        if (before(index) !== NEWLINE) continue;
        const lineEnd = buffer.indexOf(NEWLINE, index);
        if (lineEnd === -1 && buffer.length - index < MAX_HEAD) {
          keepFrom = Math.min(keepFrom, index); // the name may still be on its way
          break;
        }
        this.#record(buffer.subarray(index, Math.min(lineEnd === -1 ? buffer.length : lineEnd, index + MAX_HEAD)));
      }
    }
    if (keepFrom < buffer.length) return keepFrom;
    return buffer.length - this.#partialNeedleAtEnd(buffer, before);
  }

  /** How many trailing bytes could be the start of a needle that continues in the next chunk. */
  #partialNeedleAtEnd(buffer: Buffer, before: (index: number) => number | undefined): number {
    for (let length = Math.min(NEEDLE_LENGTH - 1, buffer.length); length > 0; length--) {
      const start = buffer.length - length;
      if (before(start) !== NEWLINE) continue;
      const tail = buffer.subarray(start);
      if (NEEDLES.some((needle) => needle.subarray(0, length).equals(tail))) return length;
    }
    return 0;
  }

  #record(line: Buffer): void {
    const table = parseCreateTable(line.toString("latin1"));
    if (!table) return;
    this.#statements++;
    const key = `${table.quoted ? "q" : "u"}:${table.name}`;
    if (this.#tables.size < MAX_TRACKED_TABLES && !this.#tables.has(key)) this.#tables.set(key, table);
  }
}

/** The name the server ends up with: PostgreSQL folds unquoted identifiers to lower case, MySQL keeps them. */
export function effectiveTableName(table: TableName, engine: DatabaseEngine): string {
  return engine === "postgresql" && !table.quoted ? table.name.toLowerCase() : table.name;
}

function listNames(names: string[], max: number): string {
  const shown = names.slice(0, max).join(", ");
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

/**
 * The seeds' case rule: table names are lower case on PostgreSQL and Pascal
 * case on MySQL (Liferay's `User_`, not `user_`). A dump that breaks it
 * restores, but Liferay then cannot find its tables — worth a warning that
 * names them, not a refusal (some plugins' tables are legitimately different).
 */
export function checkTableNameCase(tables: readonly TableName[], engine: DatabaseEngine, maxNamed = 10): string | null {
  const names = [...new Set(tables.map((t) => effectiveTableName(t, engine)))];
  if (engine === "postgresql") {
    const offending = names.filter((name) => name !== name.toLowerCase());
    if (offending.length === 0) return null;
    return (
      `${offending.length} ${offending.length === 1 ? "table has" : "tables have"} upper-case letters in ${offending.length === 1 ? "its name" : "their names"}, ` +
      `but Liferay on PostgreSQL expects lower case (user_, not User_): ${listNames(offending, maxNamed)}. Rename them before restoring.`
    );
  }
  const offending = names.filter((name) => /[a-z]/.test(name) && name === name.toLowerCase());
  if (offending.length === 0) return null;
  return (
    `${offending.length} ${offending.length === 1 ? "table has an" : "tables have"} all-lower-case ${offending.length === 1 ? "name" : "names"}, ` +
    `but Liferay on MySQL expects Pascal case (User_, not user_): ${listNames(offending, maxNamed)}. ` +
    "Rename them before restoring (see “Ensuring Correct Table Capitalization”)."
  );
}
