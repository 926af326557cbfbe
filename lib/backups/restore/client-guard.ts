import { Transform } from "node:stream";
import type { TransformCallback } from "node:stream";

import { BackupError } from "@/lib/backups/engine/errors";

/*
 * psql and mysql are not only SQL pipes: a backslash outside quotes starts a
 * client command anywhere in a line (`\! cmd` runs a shell command, `\c db`
 * and `\u db` switch to another database, `\o`/`\T` write files), and the
 * mysql client also takes `system cmd`, `source file`, `pager cmd` … at a
 * line's start. A dump is data from whoever uploaded it, so before a byte
 * reaches the client these guards lex it just enough to know what is quoted
 * and what is not, and refuse any client command — except the `\restrict`
 * pair pg_dump itself writes since 2025 (which makes psql refuse the rest).
 *
 * They run on bytes: every character that matters is ASCII, and UTF-8
 * never uses ASCII bytes inside a multi-byte character. The bulk (COPY
 * rows, the insides of quoted strings) is skipped with Buffer#indexOf.
 * Chunks pass through unchanged; a few bytes are held back when a token
 * might continue in the next chunk.
 */

const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;
const CR = 0x0d;
const SQUOTE = 0x27;
const DQUOTE = 0x22;
const BACKTICK = 0x60;
const DOLLAR = 0x24;
const DASH = 0x2d;
const SLASH = 0x2f;
const STAR = 0x2a;
const HASH = 0x23;
const SEMICOLON = 0x3b;
const BANG = 0x21;

/** Holding back more than this means the dump is not SQL we can follow. */
const MAX_LOOKAHEAD = 256;

class NeedMore {}
const NEED_MORE = new NeedMore();

function isIdentByte(b: number | undefined): boolean {
  return b !== undefined && ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x5f || b >= 0x80 || b === DOLLAR);
}

function isSpace(b: number | undefined): boolean {
  return b === 0x20 || b === 0x09 || b === NEWLINE || b === CR || b === 0x0b || b === 0x0c;
}

function commandRefused(tool: string, command: string): BackupError {
  const shown = command.length > 40 ? `${command.slice(0, 40)}…` : command;
  return new BackupError(
    `database.gz contains the ${tool} client command ${JSON.stringify(shown)}. A restore loads SQL only; client commands (shell commands, files, other databases) are refused. Nothing was restored.`,
  );
}

/** The base: chunk bookkeeping and held-back bytes; `scan` does the lexing from `start`, returning where it stopped. */
abstract class GuardTransform extends Transform {
  #carry: Buffer | null = null;
  protected final = false;

  constructor() {
    // As SqlLineTransform: buffered ahead of the client, so lexing overlaps its work.
    super({ highWaterMark: 4 * 1024 * 1024 });
  }

  /** Scans buf; returns the index up to which everything is settled (the rest is held back). */
  protected abstract scan(buf: Buffer): number;
  /** The lexer's state, so a step that runs out of bytes can be retried from scratch with the next chunk. */
  protected abstract save(): object;
  protected abstract restore(state: object): void;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      const buf = this.#carry ? Buffer.concat([this.#carry, chunk]) : chunk;
      this.#carry = null;
      const settled = this.scan(buf);
      if (buf.length - settled > MAX_LOOKAHEAD) throw new BackupError("database.gz could not be read as SQL (a token runs on too long). Nothing was restored.");
      if (settled < buf.length) this.#carry = Buffer.from(buf.subarray(settled));
      callback(null, settled > 0 ? buf.subarray(0, settled) : undefined);
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.final = true;
      if (this.#carry) {
        const buf = this.#carry;
        this.#carry = null;
        this.scan(buf);
        callback(null, buf);
      } else callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  /** The byte at i, or NEED_MORE thrown when it is past the end of a chunk that is not the last. */
  protected at(buf: Buffer, i: number): number | undefined {
    if (i < buf.length) return buf[i];
    if (this.final) return undefined;
    throw NEED_MORE;
  }

  /** Runs `step` from each position; a step that needs bytes beyond the chunk holds back from where it began. */
  protected run(buf: Buffer, step: (buf: Buffer, i: number) => number): number {
    let i = 0;
    while (i < buf.length) {
      const state = this.save();
      try {
        i = step(buf, i);
      } catch (error) {
        if (error !== NEED_MORE) throw error;
        this.restore(state);
        return i;
      }
    }
    return buf.length;
  }
}

type PgMode = "normal" | "squote" | "estring" | "dquote" | "dollar" | "block" | "line" | "copy";

/**
 * What psql would treat as a command. Tracks quotes ('…', E'…', "…",
 * $tag$…$tag$), comments (-- and nested block comments) and COPY … FROM stdin data,
 * which psql reads raw up to a line `\.`.
 */
interface PgState {
  mode: PgMode;
  tag: string;
  depth: number;
  /** The current statement's unquoted text (bounded): is it a COPY … FROM stdin? */
  statement: string;
  copyAfterLine: boolean;
  /** At the first byte of a line. */
  lineStart: boolean;
  prev: number | undefined;
  prev2: number | undefined;
}

export class PsqlGuard extends GuardTransform {
  #s: PgState = { mode: "normal", tag: "", depth: 0, statement: "", copyAfterLine: false, lineStart: true, prev: NEWLINE, prev2: undefined };

  protected save(): object {
    return { ...this.#s };
  }

  protected restore(state: object): void {
    this.#s = state as PgState;
  }

  protected scan(buf: Buffer): number {
    return this.run(buf, (b, i) => this.#step(b, i));
  }

  #newline(i: number): number {
    const s = this.#s;
    s.lineStart = true;
    s.prev = NEWLINE;
    s.prev2 = undefined;
    if (s.copyAfterLine) {
      s.copyAfterLine = false;
      s.mode = "copy";
    }
    return i + 1;
  }

  /** After a run inside quotes: whether it ended a line. */
  #after(buf: Buffer, end: number): number {
    this.#s.lineStart = buf[end - 1] === NEWLINE;
    return end;
  }

  #step(buf: Buffer, i: number): number {
    const s = this.#s;
    const c = buf[i]!;
    switch (s.mode) {
      case "copy": {
        // Only a line start matters: is it the `\.` that ends the data?
        if (s.lineStart && c === BACKSLASH && this.at(buf, i + 1) === 0x2e) {
          const after = this.at(buf, i + 2);
          const end = after === CR ? i + 3 : i + 2;
          const next = after === CR ? this.at(buf, i + 3) : after;
          if (next === NEWLINE || next === undefined) {
            s.mode = "normal";
            s.lineStart = false;
            return end;
          }
        }
        const nl = buf.indexOf(NEWLINE, i);
        if (nl < 0) {
          s.lineStart = false;
          return buf.length;
        }
        s.lineStart = true;
        return nl + 1;
      }
      case "line": {
        const nl = buf.indexOf(NEWLINE, i);
        if (nl < 0) return buf.length;
        s.mode = "normal";
        return this.#newline(nl);
      }
      case "squote":
      case "estring": {
        const quote = buf.indexOf(SQUOTE, i);
        const slash = buf.indexOf(BACKSLASH, i);
        if (slash >= 0 && (quote < 0 || slash < quote)) {
          if (s.mode === "squote") {
            // With standard_conforming_strings off (a dump may turn it off, even indirectly) psql reads
            // this backslash as an escape; with it on, as a character. Where the string ends would then
            // depend on a server setting, so a command could hide behind it: refuse instead of guessing.
            throw new BackupError(
              "database.gz has a backslash inside a plain '…' string outside COPY data, whose meaning depends on the server's standard_conforming_strings. Lifeboat cannot check such a dump safely and does not run it. Nothing was restored.",
            );
          }
          this.at(buf, slash + 1);
          return this.#after(buf, slash + 2);
        }
        if (quote < 0) return this.#after(buf, buf.length);
        if (this.at(buf, quote + 1) === SQUOTE) return this.#after(buf, quote + 2);
        s.mode = "normal";
        s.prev = SQUOTE;
        s.prev2 = undefined;
        s.lineStart = false;
        return quote + 1;
      }
      case "dquote": {
        const quote = buf.indexOf(DQUOTE, i);
        if (quote < 0) return this.#after(buf, buf.length);
        if (this.at(buf, quote + 1) === DQUOTE) return this.#after(buf, quote + 2);
        s.mode = "normal";
        s.prev = DQUOTE;
        s.prev2 = undefined;
        s.lineStart = false;
        return quote + 1;
      }
      case "dollar": {
        const closing = `$${s.tag}$`;
        const end = buf.indexOf(closing, i, "latin1");
        if (end < 0) {
          // The closing tag may straddle two chunks: hold its length back.
          if (this.final) return this.#after(buf, buf.length);
          const keep = buf.length - closing.length + 1;
          if (keep <= i) throw NEED_MORE;
          return this.#after(buf, keep);
        }
        s.mode = "normal";
        s.prev = DOLLAR;
        s.prev2 = undefined;
        s.lineStart = false;
        return end + closing.length;
      }
      case "block": {
        if (c === SLASH && this.at(buf, i + 1) === STAR) {
          s.depth++;
          return i + 2;
        }
        if (c === STAR && this.at(buf, i + 1) === SLASH) {
          if (--s.depth === 0) s.mode = "normal";
          return i + 2;
        }
        if (c === NEWLINE) {
          s.lineStart = true;
          return i + 1;
        }
        s.lineStart = false;
        return i + 1;
      }
      case "normal":
        return this.#normal(buf, i, c);
    }
  }

  #normal(buf: Buffer, i: number, c: number): number {
    const s = this.#s;
    if (c === NEWLINE) return this.#newline(i);
    const lineStart = s.lineStart;
    const prev = s.prev;
    const prev2 = s.prev2;
    if (c === BACKSLASH) {
      let end = i + 1;
      while (end - i < 64 && this.at(buf, end) !== undefined && !isSpace(this.at(buf, end))) end++;
      const word = buf.toString("latin1", i, end);
      if (!(lineStart && (word === "\\restrict" || word === "\\unrestrict"))) {
        const lineEnd = buf.indexOf(NEWLINE, i);
        throw commandRefused("psql", buf.toString("utf8", i, lineEnd < 0 ? Math.min(buf.length, i + 60) : lineEnd).trim());
      }
      s.mode = "line";
      s.lineStart = false;
      return end;
    }
    if (c === DASH && this.at(buf, i + 1) === DASH) {
      s.mode = "line";
      s.lineStart = false;
      return i + 2;
    }
    if (c === SLASH && this.at(buf, i + 1) === STAR) {
      s.mode = "block";
      s.depth = 1;
      s.lineStart = false;
      return i + 2;
    }
    let next = i + 1;
    if (c === SQUOTE) s.mode = (prev === 0x45 || prev === 0x65) && !isIdentByte(prev2) ? "estring" : "squote";
    else if (c === DQUOTE) s.mode = "dquote";
    else if (c === DOLLAR && !isIdentByte(prev)) {
      let end = i + 1;
      while (end - i < 64) {
        const b = this.at(buf, end);
        if (b === DOLLAR) {
          const tag = buf.toString("latin1", i + 1, end);
          if (!/^[0-9]/.test(tag)) {
            s.mode = "dollar";
            s.tag = tag;
            next = end + 1;
          }
          break;
        }
        if (!isIdentByte(b)) break;
        end++;
      }
    } else if (c === SEMICOLON) {
      if (/^COPY\b[\s\S]*\bFROM\s+STDIN\b/i.test(s.statement.trimStart())) s.copyAfterLine = true;
      s.statement = "";
    }
    if (c !== SEMICOLON && s.statement.length < 64 * 1024) s.statement += String.fromCharCode(c);
    s.lineStart = false;
    s.prev2 = prev;
    s.prev = c;
    return next;
  }
}

type MyMode = "normal" | "squote" | "dquote" | "backtick" | "block" | "line";

const MYSQL_NAMED_COMMANDS = /^(system|source|pager|tee|edit|connect|nopager|notee|charset|use)\b/i;

/**
 * What the mysql client would treat as a command: a backslash outside
 * quotes and comments (`/*!…*\/` counts as code: the client runs commands
 * inside it), or a named command at a line's start. `USE \`db\`` is the one
 * named command mysqldump writes; the line editor before this guard points
 * it at the staging database, and this guard lets only that spelling pass.
 */
export class MysqlGuard extends GuardTransform {
  #mode: MyMode = "normal";
  #lineStart = true;

  constructor(readonly allowedUse: string) {
    super();
  }

  protected save(): object {
    return { mode: this.#mode, lineStart: this.#lineStart };
  }

  protected restore(state: object): void {
    ({ mode: this.#mode, lineStart: this.#lineStart } = state as { mode: MyMode; lineStart: boolean });
  }

  protected scan(buf: Buffer): number {
    return this.run(buf, (b, i) => this.#step(b, i));
  }

  #step(buf: Buffer, i: number): number {
    const c = buf[i]!;
    switch (this.#mode) {
      case "line": {
        const nl = buf.indexOf(NEWLINE, i);
        if (nl < 0) return buf.length;
        this.#mode = "normal";
        this.#lineStart = true;
        return nl + 1;
      }
      case "squote":
      case "dquote":
      case "backtick": {
        const close = this.#mode === "squote" ? SQUOTE : this.#mode === "dquote" ? DQUOTE : BACKTICK;
        const quote = buf.indexOf(close, i);
        const slash = this.#mode === "backtick" ? -1 : buf.indexOf(BACKSLASH, i);
        // Inside quotes a line start is no command's start.
        this.#lineStart = false;
        if (slash >= 0 && (quote < 0 || slash < quote)) {
          this.at(buf, slash + 1);
          return slash + 2;
        }
        if (quote < 0) return buf.length;
        if (this.at(buf, quote + 1) === close) return quote + 2;
        this.#mode = "normal";
        return quote + 1;
      }
      case "block": {
        const end = buf.indexOf("*/", i, "latin1");
        if (end < 0) {
          if (this.final) return buf.length;
          if (buf.length - 1 <= i) throw NEED_MORE;
          return buf.length - 1;
        }
        this.#mode = "normal";
        this.#lineStart = false;
        return end + 2;
      }
      case "normal":
        return this.#normal(buf, i, c);
    }
  }

  #normal(buf: Buffer, i: number, c: number): number {
    if (c === NEWLINE) {
      this.#lineStart = true;
      return i + 1;
    }
    if (this.#lineStart && !isSpace(c)) {
      // A named command is a word at the line's start: read up to 12 bytes to see.
      let end = i;
      while (end - i < 12 && this.at(buf, end) !== undefined && !isSpace(this.at(buf, end)) && this.at(buf, end) !== SEMICOLON) end++;
      const word = buf.toString("latin1", i, end);
      if (MYSQL_NAMED_COMMANDS.test(word)) {
        const lineEnd = buf.indexOf(NEWLINE, i);
        if (!this.final && lineEnd < 0 && buf.length - i < MAX_LOOKAHEAD) throw NEED_MORE;
        const line = buf.toString("utf8", i, lineEnd < 0 ? buf.length : lineEnd).trim();
        if (!/^USE\s/i.test(line) || line.replace(/\s*;?\s*$/, "") !== `USE ${this.allowedUse}`) throw commandRefused("mysql", line);
      }
    }
    this.#lineStart = false;
    if (c === BACKSLASH) {
      // `\-` turns the client's sandbox mode on: MariaDB's mysqldump opens every dump with it (/*M!999999\- …*/).
      if (this.at(buf, i + 1) === DASH) return i + 2;
      const lineEnd = buf.indexOf(NEWLINE, i);
      throw commandRefused("mysql", buf.toString("utf8", i, lineEnd < 0 ? Math.min(buf.length, i + 60) : lineEnd).trim());
    }
    if (c === SQUOTE) this.#mode = "squote";
    else if (c === DQUOTE) this.#mode = "dquote";
    else if (c === BACKTICK) this.#mode = "backtick";
    else if (c === HASH) this.#mode = "line";
    else if (c === DASH && this.at(buf, i + 1) === DASH && (isSpace(this.at(buf, i + 2)) || this.at(buf, i + 2) === undefined)) {
      this.#mode = "line";
      return i + 2;
    } else if (c === SLASH && this.at(buf, i + 1) === STAR) {
      // `/*!50001 …*/` and `/*M!…*/` are code the client runs through: stay in normal mode.
      const third = this.at(buf, i + 2);
      if (third === BANG) return i + 3;
      if (third === 0x4d && this.at(buf, i + 3) === BANG) return i + 4;
      this.#mode = "block";
      return i + 2;
    }
    return i + 1;
  }
}
