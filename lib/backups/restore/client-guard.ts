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
 *
 * They follow the clients' own lexers (psqlscan.l; mysql.cc's add_line and
 * find_command), and where client versions or the two mysql clients read the
 * same bytes differently they refuse the dump instead of choosing a reading.
 * client-guard.property.test.ts checks them against generated dumps.
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

/** The run of identifier bytes being read: none, one psql reads as an identifier, a number, or a number with letters glued on. */
type PgWord = "none" | "ident" | "number" | "numberish";

/**
 * What psql would treat as a command. Tracks quotes ('…', E'…', "…",
 * $tag$…$tag$), comments (-- and nested block comments) and COPY … FROM stdin data,
 * which psql reads raw up to a line `\.`. Where psql versions lex a dump
 * differently (a dollar quote glued to `1e5`, a `;` inside BEGIN ATOMIC),
 * the guard refuses rather than pick one reading.
 */
interface PgState {
  mode: PgMode;
  tag: string;
  depth: number;
  /** The current statement's unquoted text (bounded), comments as spaces: is it a COPY … FROM stdin? */
  statement: string;
  copyAfterLine: boolean;
  /** At the first byte of a line. */
  lineStart: boolean;
  word: PgWord;
  /** The word so far, lower case (bounded): for E'…' and the keywords psql counts. */
  wordText: string;
  /** psql counts parentheses: a `;` inside them ends no statement. */
  paren: number;
  /**
   * psql 14+ does not end a statement at a `;` inside CREATE FUNCTION …
   * BEGIN ATOMIC … END (older ones do). As psqlscan.l: the first letters of
   * the statement's first identifiers, how many there were, and the depth
   * of BEGIN/CASE … END (counted high where versions differ).
   */
  blockIdents: string;
  blockCount: number;
  blockDepth: number;
}

const PSQL_BLOCK_WORDS = new Set(["create", "function", "procedure", "or", "replace"]);
/** `COPY [BINARY] table [(columns)] FROM STDIN …`: the one shape that makes psql read the next lines as data. */
const PSQL_COPY_FROM_STDIN =
  /^\s*COPY\s+(BINARY\s+)?("|[A-Za-z_\x80-\uffff][\w$\x80-\uffff]*)(\s*\.\s*("|[A-Za-z_\x80-\uffff][\w$\x80-\uffff]*))*(\s*\([^()]*\))?\s+FROM\s+STDIN\b/i;
/** pg_dump's `\restrict <key>` / `\unrestrict <key>` (17.6+): an alphanumeric key and nothing else on the line. */
const PSQL_RESTRICT_LINE = /^\\(un)?restrict [A-Za-z0-9]{1,128}[ \t]*\r?$/;

function pgRefused(reason: string): BackupError {
  return new BackupError(`database.gz ${reason}. Lifeboat cannot check such a dump safely and does not run it. Nothing was restored.`);
}

export class PsqlGuard extends GuardTransform {
  #s: PgState = {
    mode: "normal",
    tag: "",
    depth: 0,
    statement: "",
    copyAfterLine: false,
    lineStart: true,
    word: "none",
    wordText: "",
    paren: 0,
    blockIdents: "",
    blockCount: 0,
    blockDepth: 0,
  };

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

  /** Back to code after a quoted string or identifier: a token boundary. */
  #closed(end: number): number {
    const s = this.#s;
    s.mode = "normal";
    s.lineStart = false;
    s.word = "none";
    s.wordText = "";
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
        // psql's -- comment ends at a carriage return too (psqlscan.l's non_newline is [^\n\r]).
        let end = i;
        while (end < buf.length && buf[end] !== NEWLINE && buf[end] !== CR) end++;
        if (end === buf.length) return buf.length;
        s.mode = "normal";
        if (buf[end] === NEWLINE) return this.#newline(end);
        s.lineStart = false;
        return end + 1;
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
        return this.#closed(quote + 1);
      }
      case "dquote": {
        const quote = buf.indexOf(DQUOTE, i);
        if (quote < 0) return this.#after(buf, buf.length);
        if (this.at(buf, quote + 1) === DQUOTE) return this.#after(buf, quote + 2);
        return this.#closed(quote + 1);
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
        return this.#closed(end + closing.length);
      }
      case "block": {
        if (c === SLASH && this.at(buf, i + 1) === STAR) {
          s.depth++;
          return i + 2;
        }
        if (c === STAR && this.at(buf, i + 1) === SLASH) {
          if (--s.depth === 0) {
            s.mode = "normal";
            s.lineStart = false;
          }
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

  /** A word ends: psql counts identifiers for BEGIN ATOMIC (a number with letters glued on may be one, in older versions). */
  #endWord(): void {
    const s = this.#s;
    if (s.word === "ident") this.#identifier(s.wordText, true);
    else if (s.word === "numberish") this.#identifier(s.wordText.replace(/^[^a-z_\x80-\uffff]+/, ""), false);
    s.word = "none";
    s.wordText = "";
  }

  #identifier(name: string, clean: boolean): void {
    const s = this.#s;
    if (s.blockCount === 0) s.blockIdents = "";
    if (s.blockCount < 4) s.blockIdents += PSQL_BLOCK_WORDS.has(name) ? name[0] : "-";
    s.blockCount++;
    const id = s.blockIdents;
    const inRoutine = id[0] === "c" && (id[1] === "f" || id[1] === "p" || (id[1] === "o" && id[2] === "r" && (id[3] === "f" || id[3] === "p")));
    if (!inRoutine || s.paren !== 0) return;
    if (name === "begin") s.blockDepth++;
    else if (name === "case" && s.blockDepth >= 1) s.blockDepth++;
    // Only a clean END closes: where versions disagree, the depth stays high (and a COPY then is refused).
    else if (name === "end" && clean && s.blockDepth > 0) s.blockDepth--;
  }

  /** A `;` outside parentheses: the end of a statement, for every psql or (inside BEGIN ATOMIC) for older ones only. */
  #semicolon(): void {
    const s = this.#s;
    const text = s.statement;
    if (/^\s*COPY\b/i.test(text) && /\bSTDIN\b/i.test(text)) {
      if (s.blockDepth > 0) {
        throw pgRefused("has a COPY … FROM stdin inside CREATE FUNCTION … BEGIN ATOMIC, where psql versions disagree on whether data follows");
      }
      if (!PSQL_COPY_FROM_STDIN.test(text)) throw pgRefused("has a COPY statement naming STDIN in a form other than COPY table FROM stdin");
      s.copyAfterLine = true;
    }
    s.statement = "";
    if (s.blockDepth === 0) s.blockCount = 0;
  }

  #normal(buf: Buffer, i: number, c: number): number {
    const s = this.#s;
    if (c === NEWLINE) {
      this.#endWord();
      return this.#newline(i);
    }
    const lineStart = s.lineStart;
    s.lineStart = false;
    if (s.copyAfterLine && !isSpace(c) && !(c === DASH && this.at(buf, i + 1) === DASH)) {
      // psql runs the COPY at its `;` and reads the rest of that line after the data: nothing may hide there.
      throw pgRefused("has more on the line after a COPY … FROM stdin; than a comment");
    }
    if (c === BACKSLASH) {
      // Enough bytes to tell \restrict from other commands, unless the dump ends first.
      if (lineStart && !this.final && buf.length - i < 12) throw NEED_MORE;
      const lineEnd = buf.indexOf(NEWLINE, i);
      if (lineStart && (buf.toString("latin1", i, i + 9) === "\\restrict" || buf.toString("latin1", i, i + 11) === "\\unrestrict")) {
        if (lineEnd < 0 && !this.final && buf.length - i < MAX_LOOKAHEAD) throw NEED_MORE;
        const line = buf.toString("latin1", i, lineEnd < 0 ? buf.length : lineEnd);
        // Anything after the key (another command, a `backtick`) would run: psql reads on after \restrict's argument.
        if (PSQL_RESTRICT_LINE.test(line)) {
          s.mode = "line";
          return i + 1;
        }
      }
      // The refusal quotes the whole command: wait for the rest of its line (bounded).
      if (lineEnd < 0 && !this.final && buf.length - i < MAX_LOOKAHEAD) throw NEED_MORE;
      throw commandRefused("psql", buf.toString("utf8", i, lineEnd < 0 ? Math.min(buf.length, i + 60) : lineEnd).trim());
    }
    if (c === DASH && this.at(buf, i + 1) === DASH) {
      this.#endWord();
      s.mode = "line";
      s.statement += " ";
      return i + 2;
    }
    if (c === SLASH && this.at(buf, i + 1) === STAR) {
      this.#endWord();
      s.mode = "block";
      s.depth = 1;
      s.statement += " ";
      return i + 2;
    }
    if (s.statement.length < 64 * 1024) s.statement += String.fromCharCode(c);
    if (c === DOLLAR) return this.#dollar(buf, i);
    if (isIdentByte(c)) {
      const letter = !(c >= 0x30 && c <= 0x39);
      if (s.word === "none") s.word = letter ? "ident" : "number";
      else if (s.word === "number" && letter) s.word = "numberish";
      if (s.wordText.length < 32) s.wordText += String.fromCharCode(c).toLowerCase();
      return i + 1;
    }
    // E'…' only when the E is a word of its own: in xE'…' or 1E'…' it is not (or not in every version, and then the plain reading refuses backslashes).
    const estring = c === SQUOTE && s.word === "ident" && s.wordText === "e";
    this.#endWord();
    if (c === SQUOTE) s.mode = estring ? "estring" : "squote";
    else if (c === DQUOTE) s.mode = "dquote";
    else if (c === 0x28) s.paren++;
    else if (c === 0x29) s.paren = Math.max(0, s.paren - 1);
    else if (c === SEMICOLON && s.paren === 0) {
      s.statement = s.statement.slice(0, -1);
      this.#semicolon();
    }
    return i + 1;
  }

  /**
   * A `$`: part of an identifier (a$b), a parameter ($1), or the start of a
   * dollar quote ($tag$ or $$). After a number psql starts a quote (1$a$);
   * after a number with letters (1e5$a$, 0x1F$a$) versions differ: refused.
   */
  #dollar(buf: Buffer, i: number): number {
    const s = this.#s;
    if (s.word === "ident") {
      if (s.wordText.length < 32) s.wordText += "$";
      return i + 1;
    }
    let end = i + 1;
    let tag: string | null = null;
    while (end - i < 64) {
      const b = this.at(buf, end);
      if (b === DOLLAR) {
        const text = buf.toString("latin1", i + 1, end);
        if (!/^[0-9]/.test(text)) tag = text;
        break;
      }
      if (!isIdentByte(b)) break;
      end++;
    }
    if (tag === null) {
      // `$1`: a parameter, which psql reads as a number.
      if (s.word === "none") s.word = "number";
      return i + 1;
    }
    if (s.word === "numberish") throw pgRefused(`has a dollar quote $${tag}$ right after a number with letters, which psql versions read differently`);
    this.#endWord();
    s.mode = "dollar";
    s.tag = tag;
    return end + 1;
  }
}

type MyMode = "normal" | "squote" | "dquote" | "backtick" | "block" | "line";

/**
 * The mysql client's named commands that reach outside the load: a shell
 * (system, pager, edit), files (source, tee, ssl_session_data_print), other
 * servers or databases (connect, use), the client's character set, or the
 * end of the load (quit, exit). The client recognises them at a line's start,
 * after any spaces, in any case.
 */
const MYSQL_NAMED_COMMANDS = /^(system|source|pager|nopager|tee|notee|edit|connect|charset|use|ssl_session_data_print|quit|exit)$/i;
/** What `DELIMITER x` may set: the delimiters mysqldump and routine scripts use, none of which changes how quotes or comments read. */
const MYSQL_DELIMITERS = new Set([";", ";;", "$$", "//"]);

interface MyState {
  mode: MyMode;
  lineStart: boolean;
  /** Nothing but spaces and comments since the last delimiter: where the client reads a line as a command. */
  statementStart: boolean;
  delimiter: string;
  /** Inside MariaDB's /*M!…*\/: code to MariaDB's client, a comment to MySQL's. */
  mariadbOnly: boolean;
}

function myRefused(reason: string): BackupError {
  return new BackupError(`database.gz ${reason}. Lifeboat cannot check such a dump safely and does not run it. Nothing was restored.`);
}

/**
 * What the mysql client would treat as a command: a backslash outside
 * quotes and comments (`/*!…*\/` counts as code: the client runs commands
 * inside it), or a named command at a line's start. `USE \`db\`` is the one
 * named command mysqldump writes; the line editor before this guard points
 * it at the staging database, and this guard lets only that spelling pass.
 * Where MySQL's and MariaDB's clients (or their versions) read a dump
 * differently, the guard refuses rather than pick one reading.
 */
export class MysqlGuard extends GuardTransform {
  #s: MyState = { mode: "normal", lineStart: true, statementStart: true, delimiter: ";", mariadbOnly: false };

  constructor(readonly allowedUse: string) {
    super();
  }

  protected save(): object {
    return { ...this.#s };
  }

  protected restore(state: object): void {
    this.#s = state as MyState;
  }

  protected scan(buf: Buffer): number {
    return this.run(buf, (b, i) => this.#step(b, i));
  }

  /** The rest of the line from i (without its newline), or NEED_MORE while it may go on in the next chunk. */
  #line(buf: Buffer, i: number): string {
    const lineEnd = buf.indexOf(NEWLINE, i);
    if (!this.final && lineEnd < 0 && buf.length - i < MAX_LOOKAHEAD) throw NEED_MORE;
    return buf.toString("utf8", i, lineEnd < 0 ? buf.length : lineEnd);
  }

  #step(buf: Buffer, i: number): number {
    const s = this.#s;
    const c = buf[i]!;
    switch (s.mode) {
      case "line": {
        const nl = buf.indexOf(NEWLINE, i);
        if (nl < 0) return buf.length;
        s.mode = "normal";
        s.lineStart = true;
        return nl + 1;
      }
      case "squote":
      case "dquote":
      case "backtick": {
        const close = s.mode === "squote" ? SQUOTE : s.mode === "dquote" ? DQUOTE : BACKTICK;
        const quote = buf.indexOf(close, i);
        const slash = buf.indexOf(BACKSLASH, i);
        // Inside quotes a line start is no command's start.
        s.lineStart = false;
        if (s.mariadbOnly) {
          const commentEnd = buf.indexOf("*/", i, "latin1");
          if (commentEnd >= 0 && (quote < 0 || commentEnd < quote)) {
            throw myRefused("has a quote inside /*M!…*/ that runs past its */, which MariaDB's and MySQL's clients read differently");
          }
        }
        if (slash >= 0 && (quote < 0 || slash < quote)) {
          if (s.mode === "backtick") {
            // Current clients take a backslash in `…` as a character; older ones let it escape the closing backtick.
            if (this.at(buf, slash + 1) === BACKTICK)
              throw myRefused("has a backslash before a backtick inside a `…` name, which mysql client versions read differently");
            return slash + 1;
          }
          this.at(buf, slash + 1);
          return slash + 2;
        }
        if (quote < 0) {
          // A */ may straddle two chunks: hold its first byte back.
          if (!s.mariadbOnly || this.final) return buf.length;
          if (buf.length - 1 <= i) throw NEED_MORE;
          return buf.length - 1;
        }
        if (this.at(buf, quote + 1) === close) return quote + 2;
        s.mode = "normal";
        return quote + 1;
      }
      case "block": {
        const end = buf.indexOf("*/", i, "latin1");
        if (end < 0) {
          if (this.final) return buf.length;
          if (buf.length - 1 <= i) throw NEED_MORE;
          return buf.length - 1;
        }
        s.mode = "normal";
        s.lineStart = false;
        return end + 2;
      }
      case "normal":
        return this.#normal(buf, i, c);
    }
  }

  #normal(buf: Buffer, i: number, c: number): number {
    const s = this.#s;
    if (c === NEWLINE) {
      s.lineStart = true;
      return i + 1;
    }
    // The client skips spaces before a command: `  system id` is one.
    if (isSpace(c)) return i + 1;
    if (s.lineStart || s.statementStart) {
      // A named command is the first word of a line, or of a statement (the client looks up each
      // statement's text before it sends it: `SELECT 1; system id;` runs id). Read up to 24 bytes to see.
      let end = i;
      while (end - i < 24 && this.at(buf, end) !== undefined && !isSpace(this.at(buf, end)) && this.at(buf, end) !== SEMICOLON) end++;
      const word = buf.toString("latin1", i, end);
      if (/^delimiter$/i.test(word)) {
        if (s.lineStart && s.statementStart) return this.#delimiterCommand(buf, i);
        throw commandRefused("mysql", this.#line(buf, i).trim());
      }
      if (MYSQL_NAMED_COMMANDS.test(word)) {
        const line = this.#line(buf, i).trim();
        if (!/^USE\s/i.test(line) || line.replace(/\s*;?\s*$/, "") !== `USE ${this.allowedUse}`) throw commandRefused("mysql", line);
      }
    }
    s.lineStart = false;
    if (s.delimiter !== ";" && this.#atDelimiter(buf, i)) {
      s.statementStart = true;
      return i + s.delimiter.length;
    }
    if (c === BACKSLASH) {
      // `\-` turns the client's sandbox mode on: MariaDB's mysqldump opens every dump with it (/*M!999999\- …*/).
      if (this.at(buf, i + 1) === DASH) return i + 2;
      throw commandRefused("mysql", this.#line(buf, i).trim());
    }
    if (c === HASH || (c === DASH && this.at(buf, i + 1) === DASH)) {
      const third = this.at(buf, i + 2);
      const comment = c === HASH || isSpace(third) || third === undefined;
      if (comment && s.mariadbOnly) throw myRefused("has a line comment inside /*M!…*/, which MariaDB's and MySQL's clients read differently");
      if (comment) {
        s.mode = "line";
        return c === HASH ? i + 1 : i + 2;
      }
      // MariaDB's client also takes `--x` as a comment when it opens a statement; MySQL's never does.
      if (s.statementStart) throw myRefused("has a statement starting with “--” and no space, which MariaDB's client reads as a comment and MySQL's as code");
      s.statementStart = false;
      return i + 2;
    }
    if (c === SLASH && this.at(buf, i + 1) === STAR) {
      const third = this.at(buf, i + 2);
      if (s.mariadbOnly) throw myRefused("has a comment inside /*M!…*/, which MariaDB's and MySQL's clients read differently");
      // `/*!50001 …*/` is code the client runs through: stay in normal mode.
      if (third === BANG) {
        s.statementStart = false;
        return i + 3;
      }
      if (third === 0x4d && this.at(buf, i + 3) === BANG) {
        s.mariadbOnly = true;
        s.statementStart = false;
        return i + 4;
      }
      if (third === 0x2b) return this.#hint(buf, i);
      s.mode = "block";
      return i + 2;
    }
    if (c === STAR && s.mariadbOnly && this.at(buf, i + 1) === SLASH) {
      s.mariadbOnly = false;
      return i + 2;
    }
    s.statementStart = false;
    if (c === SEMICOLON && s.mariadbOnly) throw myRefused("has a “;” inside /*M!…*/, where MariaDB's client ends a statement and MySQL's does not");
    if (c === SEMICOLON && s.delimiter === ";") s.statementStart = true;
    else if (c === SQUOTE) s.mode = "squote";
    else if (c === DQUOTE) s.mode = "dquote";
    else if (c === BACKTICK) s.mode = "backtick";
    return i + 1;
  }

  #atDelimiter(buf: Buffer, i: number): boolean {
    const d = this.#s.delimiter;
    for (let k = 0; k < d.length; k++) if (this.at(buf, i + k) !== d.charCodeAt(k)) return false;
    return true;
  }

  /** `DELIMITER ;;` as mysqldump writes it around triggers and routines; nothing else may follow on the line. */
  #delimiterCommand(buf: Buffer, i: number): number {
    const line = this.#line(buf, i);
    const match = /^delimiter[ \t]+(\S+)[ \t]*\r?$/i.exec(line);
    if (!match || !MYSQL_DELIMITERS.has(match[1]!))
      throw myRefused(`has the client command ${JSON.stringify(line.trim().slice(0, 40))}; only DELIMITER ;; and the like are run`);
    this.#s.delimiter = match[1]!;
    this.#s.mode = "line";
    this.#s.lineStart = false;
    return i + line.length;
  }

  /**
   * `/*+ … *\/`, an optimizer hint: MySQL's client runs backslash commands
   * inside it and takes no quotes there, MariaDB's skips it as a comment. It
   * passes only when it closes on its line with none of those in it.
   */
  #hint(buf: Buffer, i: number): number {
    const line = this.#line(buf, i);
    const end = line.indexOf("*/", 3);
    const body = end < 0 ? line : line.slice(0, end);
    if (end < 0 || /[\\'"`#]|--/.test(body.slice(3))) {
      throw myRefused(
        "has an optimizer hint /*+ … */ that spans lines or holds quotes, comments or backslashes, which MySQL's and MariaDB's clients read differently",
      );
    }
    this.#s.statementStart = false;
    return i + Buffer.byteLength(line.slice(0, end + 2));
  }
}
