import { Writable } from "node:stream";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

import { VerificationError } from "./errors";
import { expansionGuard, explainGzipError, gunzip, NO_EXPANSION_LIMIT } from "./gzip";
import type { ExpansionCheck } from "./gzip";
import { checkTableNameCase, CreateTableScanner, detectDumpDialect, effectiveTableName, ENGINE_LABEL } from "./sql";
import type { DatabaseEngine } from "./sql";

/** Dump tools write their banner and settings in the first few KiB; 64 KiB leaves room for long preambles. */
export const SNIFF_BYTES = 64 * 1024;

export interface VerifyDatabaseOptions {
  /** The engine the dump must come from; null accepts either (an environment whose database is not configured yet). */
  engine: DatabaseEngine | null;
  /** How the file is named in messages. */
  fileName?: string;
  /** How messages name the environment, e.g. "acme-prd". */
  environmentLabel?: string;
  /** At most this many table names are listed in a warning. */
  maxNamedTables?: number;
  /** How far the file may expand; unset: no limit (every caller that verifies a stored file sets it). */
  expansion?: ExpansionCheck;
  signal?: AbortSignal;
}

export interface DatabaseDumpReport {
  /** As detected; when the dump does not say, the expected engine (and a warning says so). */
  engine: DatabaseEngine | null;
  serverVersion: string | null;
  dumpTool: string | null;
  /** Distinct tables created by the dump, with the names the server will give them. */
  tables: string[];
  uncompressedBytes: number;
  /** Problems worth telling the person about that do not make the dump unusable. */
  warnings: string[];
}

/**
 * Decompresses a whole `database.gz` as a stream and checks that it is a
 * plain SQL dump from the expected engine, with table names that follow the
 * case rule. Memory use does not depend on the file's size. Throws
 * VerificationError with a message for people; other errors (a failing
 * source) pass through.
 */
export async function verifyDatabaseDump(source: Readable, options: VerifyDatabaseOptions): Promise<DatabaseDumpReport> {
  const fileName = options.fileName ?? "database.gz";
  const check = new DumpCheck(fileName, options);
  try {
    // A Writable, not an async function: pipeline reports an async function's throw as an AbortError while gunzip still runs.
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        try {
          check.push(chunk);
          callback();
        } catch (error) {
          callback(error as Error);
        }
      },
    });
    await pipeline(source, gunzip(), expansionGuard(fileName, options.expansion ?? NO_EXPANSION_LIMIT), sink, { signal: options.signal });
  } catch (error) {
    throw explainGzipError(fileName, error);
  }
  return check.finish();
}

class DumpCheck {
  readonly #scanner = new CreateTableScanner();
  #head: Buffer[] = [];
  #headBytes = 0;
  #bytes = 0;
  #dialect: { engine: DatabaseEngine | null; serverVersion: string | null; dumpTool: string | null } | null = null;
  readonly #warnings: string[] = [];

  constructor(
    readonly fileName: string,
    readonly options: VerifyDatabaseOptions,
  ) {}

  push(chunk: Buffer): void {
    this.#bytes += chunk.length;
    if (!this.#dialect) {
      this.#head.push(chunk.subarray(0, SNIFF_BYTES - this.#headBytes));
      this.#headBytes += Math.min(chunk.length, SNIFF_BYTES - this.#headBytes);
      // Deciding early means a wrong file fails after 64 KiB, not after reading all of it.
      if (this.#headBytes >= SNIFF_BYTES) this.#classify();
    }
    this.#scanner.push(chunk);
  }

  finish(): DatabaseDumpReport {
    if (!this.#dialect) this.#classify();
    this.#scanner.end();
    const dialect = this.#dialect!;
    const tables = this.#scanner.tables();
    const engine = dialect.engine;
    if (tables.length === 0) {
      this.#warnings.push(`${this.fileName} creates no tables (no CREATE TABLE statements): a restore would leave the database empty.`);
    }
    if (engine) {
      const caseWarning = checkTableNameCase(tables, engine, this.options.maxNamedTables);
      if (caseWarning) this.#warnings.push(caseWarning);
    }
    return {
      engine,
      serverVersion: dialect.serverVersion,
      dumpTool: dialect.dumpTool,
      tables: engine ? [...new Set(tables.map((t) => effectiveTableName(t, engine)))] : tables.map((t) => t.name),
      uncompressedBytes: this.#bytes,
      warnings: this.#warnings,
    };
  }

  #classify(): void {
    const dialect = detectDumpDialect(Buffer.concat(this.#head));
    this.#head = [];
    if (dialect.kind === "not-sql") throw new VerificationError(this.fileName, `${this.fileName} ${dialect.reason}.`);
    const expected = this.options.engine;
    const where = this.options.environmentLabel ? `${this.options.environmentLabel}'s` : "this environment's";
    if (expected && dialect.engine && dialect.engine !== expected) {
      throw new VerificationError(
        this.fileName,
        `${this.fileName} is a ${ENGINE_LABEL[dialect.engine]} dump, but ${where} database is ${ENGINE_LABEL[expected]}. Upload a dump of the ${ENGINE_LABEL[expected]} database.`,
      );
    }
    if (!dialect.engine && expected) {
      this.#warnings.push(`${this.fileName} does not say which database wrote it; it was checked as a ${ENGINE_LABEL[expected]} dump. Make sure it is one.`);
    } else if (!dialect.engine) {
      this.#warnings.push(`${this.fileName} does not say which database wrote it, so its table names could not be checked.`);
    }
    this.#dialect = { engine: dialect.engine ?? expected, serverVersion: dialect.serverVersion, dumpTool: dialect.dumpTool };
  }
}
