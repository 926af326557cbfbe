import { Transform } from "node:stream";
import type { TransformCallback } from "node:stream";

import { BackupError } from "@/lib/backups/engine/errors";

/*
 * Line-based edits of a SQL dump on its way into psql or mysql. Only the few
 * lines a restore must change are ever decoded: each line's first bytes
 * decide whether it is one of them, and every other line — the bulk: COPY
 * rows, multi-megabyte INSERTs — passes through as the same Buffer slices,
 * found with Buffer#indexOf (memchr). So the edit costs next to nothing
 * beside gunzip and the database itself.
 */

/** How many leading bytes decide whether a line is interesting. */
const HEAD_BYTES = 48;
/** An interesting line longer than this is not a statement we rewrite; it passes as it is. */
const MAX_EDITED_LINE = 64 * 1024;
const NEWLINE = 0x0a;
const NEWLINE_BUFFER = Buffer.from("\n");
const EMPTY = Buffer.alloc(0);

export interface LineEditor {
  /** From a line's first bytes (the whole line when shorter, newline included): whether `edit` must see it. */
  interesting(head: Buffer): boolean;
  /**
   * While this returns a marker, every byte up to the next line that starts
   * with it passes without being split into lines (e.g. COPY rows until
   * `\.`): one memchr-like search instead of one per row.
   */
  skipToLineStartingWith?(): Buffer | null;
  /** The whole line (with its newline, if any): what to write instead; an empty Buffer drops it. */
  edit(line: Buffer): Buffer;
}

export class SqlLineTransform extends Transform {
  #carry: Buffer | null = null;
  /** In the middle of a line that passes untouched. */
  #passing = false;

  constructor(readonly editor: LineEditor) {
    // Room to run ahead of the database client: the decompressing and editing then overlap its work instead of waiting on it.
    super({ highWaterMark: 4 * 1024 * 1024 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      const out = this.#process(this.#carry ? Buffer.concat([this.#carry, chunk]) : chunk, false);
      callback(null, out.length > 0 ? out : undefined);
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      const rest = this.#carry ? this.#process(this.#carry, true) : EMPTY;
      callback(null, rest.length > 0 ? rest : undefined);
    } catch (error) {
      callback(error as Error);
    }
  }

  #process(buf: Buffer, final: boolean): Buffer {
    this.#carry = null;
    const out: Buffer[] = [];
    let pos = 0;
    while (pos < buf.length) {
      const nl = buf.indexOf(NEWLINE, pos);
      const lineEnd = nl < 0 ? buf.length : nl + 1;
      if (this.#passing) {
        out.push(buf.subarray(pos, lineEnd));
        pos = lineEnd;
        if (nl >= 0) this.#passing = false;
        continue;
      }
      const marker = this.editor.skipToLineStartingWith?.();
      if (marker && !buf.subarray(pos, pos + marker.length).equals(marker)) {
        // Find "\n" + marker: everything before that newline (included) passes as one slice.
        const found = buf.indexOf(Buffer.concat([NEWLINE_BUFFER, marker]), pos);
        if (found >= 0) {
          out.push(buf.subarray(pos, found + 1));
          pos = found + 1;
          continue;
        }
        // Not in this chunk: pass all but a tail that could hold the start of "\n" + marker.
        const keep = final ? 0 : marker.length;
        if (buf.length - pos > keep) {
          const upTo = buf.length - keep;
          // Pass whole lines only, so the next chunk starts at a line start.
          const lastNewline = buf.lastIndexOf(NEWLINE, upTo - 1);
          if (lastNewline >= pos) {
            out.push(buf.subarray(pos, lastNewline + 1));
            pos = lastNewline + 1;
            continue;
          }
        }
      }
      if (nl < 0 && !final && buf.length - pos < HEAD_BYTES) {
        this.#carry = Buffer.from(buf.subarray(pos));
        break;
      }
      if (!this.editor.interesting(buf.subarray(pos, Math.min(lineEnd, pos + HEAD_BYTES)))) {
        this.#passing = true;
        continue;
      }
      if (nl < 0 && !final) {
        if (buf.length - pos > MAX_EDITED_LINE) {
          this.#passing = true;
          continue;
        }
        this.#carry = Buffer.from(buf.subarray(pos));
        break;
      }
      out.push(this.editor.edit(buf.subarray(pos, lineEnd)));
      pos = lineEnd;
    }
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }
}

function startsWith(head: Buffer, prefix: string): boolean {
  return head.length >= prefix.length && head.toString("latin1", 0, prefix.length) === prefix;
}

/**
 * pg_dump's plain format, edited like `pg_restore --no-owner`: the
 * `ALTER … OWNER TO role;` lines go, so a dump made as one user loads as
 * another (the target environment's), whose role may not exist anywhere
 * else. Rows between `COPY … FROM stdin;` and `\.` are never looked at.
 */
const END_OF_COPY = Buffer.from("\\.");

export function postgresOwnerEditor(): LineEditor {
  let inCopy = false;
  return {
    skipToLineStartingWith: () => (inCopy ? END_OF_COPY : null),
    interesting(head) {
      if (inCopy) return head[0] === 0x5c; // "\", the only way a COPY block ends
      return startsWith(head, "COPY ") || startsWith(head, "ALTER ");
    },
    edit(line) {
      const text = line.toString("utf8");
      if (inCopy) {
        if (/^\\\.\r?\n?$/.test(text)) inCopy = false;
        return line;
      }
      if (text.startsWith("COPY ")) {
        if (/ FROM stdin;\r?\n?$/.test(text)) inCopy = true;
        return line;
      }
      return /^ALTER [A-Z ]+ .* OWNER TO [^;]+;\r?\n?$/.test(text) ? EMPTY : line;
    },
  };
}

const MYSQL_DATABASE_LINE = [
  /^(\/\*!\d+ )?(DROP DATABASE (?:IF EXISTS )?)`((?:[^`]|``)+)`/,
  /^()(CREATE DATABASE (?:\/\*!\d+ IF NOT EXISTS\*\/ )?(?:IF NOT EXISTS )?)`((?:[^`]|``)+)`/,
  /^()(USE )`((?:[^`]|``)+)`/,
];

export function quoteMysqlIdentifier(name: string): string {
  return `\`${name.replaceAll("`", "``")}\``;
}

/**
 * mysqldump --databases names its database in three statements: DROP
 * DATABASE, CREATE DATABASE and USE. Exactly those are pointed at the
 * staging database, so the load never touches the live one whatever the
 * dump was called. A dump of several databases is refused: it is not one
 * environment's backup, and the others would be written for real.
 */
export function mysqlDatabaseEditor(staging: string): LineEditor & { readonly sourceName: string | null } {
  let sourceName: string | null = null;
  return {
    get sourceName() {
      return sourceName;
    },
    interesting(head) {
      return (
        startsWith(head, "USE `") || startsWith(head, "CREATE DATABASE") || startsWith(head, "DROP DATABASE") || startsWith(head, "/*!40000 DROP DATABASE")
      );
    },
    edit(line) {
      const text = line.toString("utf8");
      for (const pattern of MYSQL_DATABASE_LINE) {
        const match = pattern.exec(text);
        if (!match) continue;
        const name = match[3]!.replaceAll("``", "`");
        if (sourceName === null) sourceName = name;
        else if (name !== sourceName) {
          throw new BackupError(`database.gz holds more than one database (${sourceName} and ${name}); a backup to restore holds one environment's database.`);
        }
        return Buffer.from(`${match[1]}${match[2]}${quoteMysqlIdentifier(staging)}${text.slice(match[0].length)}`, "utf8");
      }
      return line;
    },
  };
}
