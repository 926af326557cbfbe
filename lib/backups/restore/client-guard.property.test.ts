import { Readable } from "node:stream";
import type { Transform } from "node:stream";

import fc from "fast-check";
import { describe, expect, it } from "vitest";

import { isBackupError } from "@/lib/backups/engine/errors";

import { MysqlGuard, PsqlGuard } from "./client-guard";

/*
 * The client-command guards are a security boundary: psql runs `\!` and
 * mysql runs `system` from a piped dump. These properties feed them dumps
 * built from generators of harmless SQL — each piece knows what psql or the
 * mysql client makes of it — and check that (a) they pass unchanged however
 * the bytes are chunked, (b) a client command at any line start in code is
 * refused, and (c) one inside a string, dollar quote, comment or COPY data
 * is not. Runs are seeded: a failure prints the seed and the shrunk case, and
 * FC_SEED=<seed> replays it.
 */

const SEED = Number(process.env.FC_SEED ?? 20261208);
const RUNS = Number(process.env.FC_RUNS ?? 500);
const params = { seed: SEED, numRuns: RUNS, endOnFailure: false };
const STAGING = "`lportal_lbstage_1`";

/**
 * A dump as pieces of text, with the offsets of the line starts where the
 * client reads code (where a command would run), and of those that are
 * also between two top-level statements (where another statement may go).
 */
interface Dump {
  text: string;
  codeLineStarts: number[];
  statementStarts: number[];
}

function join(pieces: Dump[]): Dump {
  let text = "";
  const codeLineStarts: number[] = [];
  const statementStarts: number[] = [];
  for (const piece of pieces) {
    codeLineStarts.push(...piece.codeLineStarts.map((offset) => offset + text.length));
    statementStarts.push(...piece.statementStarts.map((offset) => offset + text.length));
    text += piece.text;
  }
  return { text, codeLineStarts, statementStarts };
}

/** Plain text with no line start the client would read as code. */
const inert = (text: string): Dump => ({ text, codeLineStarts: [], statementStarts: [] });
/** Text ending a line of code: what follows is a line start in code. */
const codeLine = (text: string): Dump => ({ text, codeLineStarts: [text.length], statementStarts: [] });
/** Text ending a top-level statement and its line. */
const boundary = (text: string): Dump => ({ text, codeLineStarts: [text.length], statementStarts: [text.length] });

/** Whitespace between two tokens of code; after a newline, a line start in code. */
const separator = fc
  .constantFrom(" ", "  ", "\t", "\n", "\r\n", "\n  ")
  .map((text): Dump => ({ text, codeLineStarts: text.includes("\n") ? [text.indexOf("\n") + 1] : [], statementStarts: [] }));

/** Tokens glued by separators. */
function tokens(...parts: fc.Arbitrary<Dump>[]): fc.Arbitrary<Dump> {
  return fc.tuple(fc.array(fc.oneof(...parts), { minLength: 1, maxLength: 8 }), fc.array(separator, { minLength: 8, maxLength: 8 })).map(([list, seps]) => {
    const out: Dump[] = [];
    list.forEach((piece, index) => {
      if (index > 0) out.push(seps[index]!);
      out.push(piece);
    });
    return join(out);
  });
}

/** Text of a quoted body, from pieces each well-formed on its own there (so any concatenation is too): characters, multi-byte UTF-8, and lines that look like client commands. */
function body(pieces: string[]): fc.Arbitrary<string> {
  return fc.array(fc.constantFrom("a", "Z", "0", " ", "é", "☃", "😀", ";", "(", ")", "+", "=", ":", ...pieces), { maxLength: 12 }).map((list) => list.join(""));
}

/** Lines that look like commands to psql or mysql, and line breaks, for bodies that may hold backslashes and newlines. */
const COMMAND_LOOKALIKES = ["\n", "\r\n", "\n\\! id\n", "\n\\o |id\n", "\nsystem id\n", "\n  \\copy t to program 'id'\n"];
const withoutQuote = (quote: string) => COMMAND_LOOKALIKES.filter((piece) => !piece.includes(quote));
const withoutBackslash = COMMAND_LOOKALIKES.filter((piece) => !piece.includes("\\"));

/** Chunks of the bytes cut at arbitrary points: inside UTF-8 characters, between \r and \n, one byte at a time. */
function chunked(text: string, cuts: number[]): Buffer[] {
  const bytes = Buffer.from(text);
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let last = 0;
  for (const point of [...points, bytes.length]) {
    if (point > last) chunks.push(bytes.subarray(last, point));
    last = point;
  }
  return chunks;
}

const cuts = fc.array(fc.nat(), { maxLength: 30 });

type Outcome = { passed: string } | { refused: string } | { crashed: unknown };

async function run(guard: Transform, chunks: Buffer[]): Promise<Outcome> {
  const out: Buffer[] = [];
  try {
    for await (const chunk of Readable.from(chunks).pipe(guard)) out.push(chunk as Buffer);
    return { passed: Buffer.concat(out).toString() };
  } catch (error) {
    return isBackupError(error) ? { refused: error.message } : { crashed: error };
  }
}

function inject(dump: Dump, offsets: number[], at: number, command: string): string {
  const offset = offsets.length > 0 ? offsets[at % offsets.length]! : dump.text.length;
  return `${dump.text.slice(0, offset)}${command}\n${dump.text.slice(offset)}`;
}

// ---------------------------------------------------------------------------------------------------------------
// psql

const pgIdent = fc
  .stringMatching(/^[a-z_][a-z0-9_]{0,6}(\$[a-z0-9]{0,3})?$/)
  // Words psql itself counts (BEGIN ATOMIC), and E, which glued to a quote would make an E'' string.
  .filter((word) => !["begin", "end", "case", "create", "function", "procedure", "or", "replace", "copy", "stdin", "e"].includes(word))
  .map(inert);
const pgNumber = fc.constantFrom("1", "42", "3.14", "1e5", ".5", "$1").map(inert);
const pgOperator = fc.constantFrom("=", "<>", "::", "+", "*", ",", ".", "[", "]", ":", "||", "@>", "()").map(inert);
const pgString = body(["''", '"', "$$", "$a$", "--", "/*", "E", ...withoutBackslash]).map((content) => inert(`'${content}'`));
const pgEString = body(["''", "\\'", "\\\\", "\\n", "\\!", "\\x41", '"', "$$", "--", "/*", ...withoutQuote("'")]).map((content) => inert(`E'${content}'`));
/** A dollar quote: its body holds no `$` but in $y$, which closes no tag it is given. */
const pgDollar = fc
  .oneof(
    fc.tuple(fc.constant(""), body(["'", "''", '"', "--", "/*", "E'", "\\", ...COMMAND_LOOKALIKES])),
    fc.tuple(fc.constantFrom("_", "body", "x1", "é"), body(["'", '"', "$y$", "--", "/*", "E'", "\\", ...COMMAND_LOOKALIKES])),
  )
  .map(([tag, content]) => inert(`$${tag}$${content}$${tag}$`));
const pgQuotedIdent = body(['""', "\\", "'", "--", "/*", "$$", ...withoutQuote('"')]).map((content) => inert(`"${content}"`));
const pgLineComment = body(["'", '"', "/*", "$$", "\\! id", "E'", "\\"]).map((content): Dump => inert(`--${content}\n`));
const pgBlockComment: fc.Arbitrary<Dump> = fc
  .letrec((tie) => ({
    comment: fc
      .array(fc.oneof({ weight: 3, arbitrary: body(["'", '"', "--", "$$", "E'", "\\", ...COMMAND_LOOKALIKES]) }, tie("comment") as fc.Arbitrary<string>), {
        maxLength: 3,
      })
      .map((parts) => `/*${parts.map((part) => ` ${part} `).join("")}*/`),
  }))
  .comment.map(inert);
/** Pieces psql reads as separate tokens though they touch: a number or a closed quote before a dollar quote, as dumps of function bodies can have. */
const pgGlued = fc
  .tuple(fc.constantFrom("1", "42", "3.14", "'x'", '"x"', "$$x$$", "E'y'"), pgDollar)
  .map(([before, dollar]) => inert(`${before}${dollar.text}`));

const pgToken = fc.oneof(
  { weight: 4, arbitrary: pgIdent },
  { weight: 2, arbitrary: pgNumber },
  { weight: 2, arbitrary: pgOperator },
  { weight: 2, arbitrary: pgString },
  { weight: 2, arbitrary: pgEString },
  { weight: 2, arbitrary: pgDollar },
  { weight: 1, arbitrary: pgQuotedIdent },
  { weight: 1, arbitrary: pgLineComment },
  { weight: 1, arbitrary: pgBlockComment },
  { weight: 1, arbitrary: pgGlued },
);

const lineEnd = fc.constantFrom("\n", "\r\n");

const pgStatement = fc
  .tuple(fc.constantFrom(["SELECT ", ""], ["INSERT INTO t VALUES (", ")"], ["CREATE TABLE t (", ")"], ["SET x = ", ""]), tokens(pgToken), lineEnd)
  .map(([[open, close], rest, end]) => join([inert(open), rest, inert(`${close}`), boundary(`;${end}`)]));

/** A COPY block: its data lines are raw to psql, so lines that look like commands are data. */
const copyDataLine = fc.oneof(
  body(["\t", "\\N", "\\\\", "\\t", "'", '"', "$$", "--", "/*", "E'"]),
  fc.constantFrom("\\! id", "\\\\! id", "\\N\t\\! id", "\\o |id", "\\.x", " \\.", "\\copy t to program 'id'", "\\restrict abc", "\\"),
);
const pgCopy = fc
  .tuple(
    fc.constantFrom("COPY public.t (a, b) FROM stdin;", 'copy "We""ird" FROM STDIN;', "COPY t FROM stdin WITH (FORMAT text);", "COPY s.t(a) FROM stdin ;"),
    fc.array(fc.tuple(copyDataLine, lineEnd), { maxLength: 6 }),
    lineEnd,
  )
  .map(([statement, rows, end]) => join([inert(`${statement}\n${rows.map(([row, eol]) => `${row}${eol}`).join("")}`), boundary(`\\.${end}`)]));

/** A body psql 14+ keeps in one statement; its inner `;` end nothing, but its lines are still code. */
const pgAtomic = fc
  .array(fc.tuple(tokens(pgIdent, pgNumber, pgString, pgDollar), lineEnd), { minLength: 1, maxLength: 3 })
  .map((statements) =>
    join([
      codeLine("CREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n"),
      ...statements.map(([statement, end]) => join([inert(" SELECT "), statement, codeLine(`;${end}`)])),
      codeLine(" SELECT CASE WHEN true THEN 1 ELSE 2 END;\n"),
      boundary("END;\n"),
    ]),
  );

/** A `;` inside parentheses ends no statement for psql, whatever follows it. */
const pgParens = fc
  .tuple(tokens(pgIdent, pgNumber, pgString), lineEnd)
  .map(([inner, end]) => join([inert("SELECT ("), inner, codeLine(`;${end}`), codeLine(`COPY t FROM stdin;${end}`), boundary(`1);${end}`)]));

const pgDump: fc.Arbitrary<Dump> = fc
  .tuple(
    fc.boolean(),
    fc.array(
      fc.oneof(
        { weight: 4, arbitrary: pgStatement },
        { weight: 2, arbitrary: pgCopy },
        { weight: 1, arbitrary: pgAtomic },
        { weight: 1, arbitrary: pgParens },
        { weight: 1, arbitrary: pgLineComment.map((comment) => boundary(comment.text)) },
      ),
      { minLength: 1, maxLength: 6 },
    ),
  )
  .map(([restricted, statements]) =>
    join([restricted ? boundary("\\restrict Ab3xYz\n") : boundary(""), ...statements, inert(restricted ? "\\unrestrict Ab3xYz\n" : "")]),
  );

/** What psql would run: shell commands, files written or read, other databases, and the \restrict line used to smuggle them. */
const psqlCommands = fc.constantFrom(
  "\\! id",
  "  \\! id",
  "\\\\! id",
  "\\o |id",
  "\\o /tmp/out",
  "\\g |id",
  "SELECT 1 \\g /tmp/out",
  "\\gx |id",
  "\\w /tmp/out",
  "\\copy t to program 'id'",
  "\\copy t from '/etc/passwd'",
  "\\i /etc/passwd",
  "\\ir x.sql",
  "\\e",
  "\\ef f",
  "\\setenv PAGER id",
  "\\set x `id`",
  "\\lo_export 1 /tmp/out",
  "\\lo_import /etc/passwd",
  "\\s /tmp/out",
  "\\c other",
  "\\connect other",
  "\\cd /",
  "\\gexec",
  "\\gset",
  "\\pset pager on",
  "\\if `id`",
  "\\restrict `id`",
  "\\restrict k \\! id",
  "\\unrestrict Ab3xYz \\! id",
  "\\unrestrict Ab3xYz\r\\! id",
  "-- comment\r\\! id",
);

describe("PsqlGuard, by property", () => {
  it("(a) passes harmless dumps through byte for byte, however they are chunked", async () => {
    await fc.assert(
      fc.asyncProperty(pgDump, cuts, async (dump, at) => {
        const outcome = await run(new PsqlGuard(), chunked(dump.text, at));
        expect(outcome).toEqual({ passed: dump.text });
      }),
      params,
    );
  });

  it("(b) refuses a client command at any line start in code, however the dump is chunked", async () => {
    await fc.assert(
      fc.asyncProperty(pgDump, fc.nat(), psqlCommands, cuts, async (dump, at, command, points) => {
        const outcome = await run(new PsqlGuard(), chunked(inject(dump, dump.codeLineStarts, at, command), points));
        expect(outcome).toHaveProperty("refused");
      }),
      params,
    );
  });

  it("(c) does not refuse a line that only looks like a command inside a string, dollar quote, comment or COPY data", async () => {
    const container = fc.constantFrom(
      (line: string) => `SELECT E'\n${line.replaceAll("'", "''")}\n';\n`,
      (line: string) => `SELECT $fn$\n${line}\n$fn$;\n`,
      (line: string) => `SELECT "\n${line.replaceAll('"', '""')}\n";\n`,
      (line: string) => `/*\n${line.replaceAll("*/", "")}\n*/\n`,
      (line: string) => `/* outer /* inner\n${line.replaceAll("*/", "")}\n*/ still outer\n */\n`,
      (line: string) => `-- ${line.replace(/[\r\n]/g, " ")}\n`,
      (line: string) => `COPY t FROM stdin;\n${line.replace(/[\r\n]/g, " ")}\n\\.\n`,
    );
    const looksLikeCommand = psqlCommands.filter((line) => !line.includes("\r"));
    await fc.assert(
      fc.asyncProperty(pgDump, fc.nat(), container, looksLikeCommand, cuts, async (dump, at, wrap, line, points) => {
        const text = inject(dump, dump.statementStarts, at, wrap(line).replace(/\n$/, ""));
        expect(await run(new PsqlGuard(), chunked(text, points))).toEqual({ passed: text });
      }),
      params,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// mysql

const NAMED = ["system", "source", "pager", "nopager", "tee", "notee", "edit", "connect", "charset", "use", "delimiter", "quit", "exit"];
const myIdent = fc
  .stringMatching(/^[a-z_][a-z0-9_]{0,8}$/)
  .filter((word) => !NAMED.includes(word) && !word.startsWith("ssl"))
  .map(inert);
const myNumber = fc.constantFrom("1", "42", "3.14", "0x1F", "-7").map(inert);
const myOperator = fc.constantFrom("=", "<>", ",", ".", "()", "+", "*", "@", ":=").map(inert);
const myEscapes = ["\\'", '\\"', "\\\\", "\\n", "\\0", "\\!", "\\N", "`", "*/", "/*", "--", "#"];
const mySingle = body(["''", '"', ...myEscapes, ...COMMAND_LOOKALIKES]).map((content) => inert(`'${content}'`));
const myDouble = body(['""', "'", ...myEscapes, ...COMMAND_LOOKALIKES]).map((content) => inert(`"${content}"`));
const myBacktick = body(["``", "'", '"', "\\!", "a\\b", "--", "#", "/*", ...COMMAND_LOOKALIKES]).map((content) => inert(`\`${content}\``));
const myLineComment = fc
  .tuple(fc.constantFrom("-- ", "--\t", "#", "# "), body(["'", '"', "`", "/*", "\\! id", "system id", "\\"]))
  .map(([start, content]): Dump => inert(`${start}${content}\n`));
const myBlockComment = body(["'", '"', "`", "--", "#", "\\", "* ", " /", ...COMMAND_LOOKALIKES]).map((content) => inert(`/* ${content}*/`));
const myConditional = tokens(myIdent, myNumber, myOperator, mySingle).map((inner) => join([inert("/*!40101 "), inner, inert(" */")]));

const myToken = fc.oneof(
  { weight: 4, arbitrary: myIdent },
  { weight: 2, arbitrary: myNumber },
  { weight: 2, arbitrary: myOperator },
  { weight: 3, arbitrary: mySingle },
  { weight: 1, arbitrary: myDouble },
  { weight: 2, arbitrary: myBacktick },
  { weight: 1, arbitrary: myBlockComment },
  { weight: 1, arbitrary: myLineComment },
  { weight: 1, arbitrary: myConditional },
);

const myStatement = fc
  .tuple(fc.constantFrom(["SELECT ", ""], ["INSERT INTO `User_` VALUES (", ")"], ["SET @x = ", ""], ["CREATE TABLE `t` (", ")"]), tokens(myToken), lineEnd)
  .map(([[open, close], rest, end]) => join([inert(open), rest, inert(close), boundary(`;${end}`)]));

/** A trigger or routine as mysqldump writes it: DELIMITER ;; around a body whose `;` end nothing. */
const myRoutine = fc
  .array(fc.tuple(tokens(myIdent, myNumber, mySingle), lineEnd), { minLength: 1, maxLength: 3 })
  .map((statements) =>
    join([
      codeLine("DELIMITER ;;\n"),
      codeLine("/*!50003 CREATE*/ /*!50003 TRIGGER `tr` BEFORE INSERT ON `t` FOR EACH ROW BEGIN\n"),
      ...statements.map(([statement, end]) => join([inert("  SET @y = "), statement, codeLine(`;${end}`)])),
      codeLine("END */;;\n"),
      boundary("DELIMITER ;\n"),
    ]),
  );

const myDump: fc.Arbitrary<Dump> = fc
  .array(
    fc.oneof(
      { weight: 4, arbitrary: myStatement },
      { weight: 1, arbitrary: myRoutine },
      { weight: 1, arbitrary: fc.constant(boundary(`USE ${STAGING};\n`)) },
      { weight: 1, arbitrary: myLineComment.map((comment) => boundary(comment.text)) },
    ),
    { minLength: 1, maxLength: 6 },
  )
  .map((statements) => join([boundary("/*M!999999\\- enable the sandbox mode */ \n/*!40101 SET NAMES utf8mb4 */;\n"), ...statements]));

/** What the mysql client would run: a shell, a pager, files read or written, other servers or databases, the load's end. */
const mysqlCommands = fc.constantFrom(
  "system id",
  "SYSTEM id",
  "  system id",
  "\tsystem id",
  "\\! id",
  "  \\! id",
  "\\. /etc/passwd",
  "source /etc/passwd",
  "pager id",
  "\\P id",
  "tee /tmp/out",
  "\\T /tmp/out",
  "ssl_session_data_print /tmp/out",
  "connect other",
  "\\r other",
  "use other",
  "\\u other",
  "edit",
  "\\e",
  "charset latin1",
  "quit",
  "DELIMITER '",
  "/*+ \\! id */ SELECT 1;",
);

describe("MysqlGuard, by property", () => {
  it("(a) passes harmless dumps through byte for byte, however they are chunked", async () => {
    await fc.assert(
      fc.asyncProperty(myDump, cuts, async (dump, at) => {
        expect(await run(new MysqlGuard(STAGING), chunked(dump.text, at))).toEqual({ passed: dump.text });
      }),
      params,
    );
  });

  it("(b) refuses a client command at any line start in code, however the dump is chunked", async () => {
    await fc.assert(
      fc.asyncProperty(myDump, fc.nat(), mysqlCommands, cuts, async (dump, at, command, points) => {
        expect(await run(new MysqlGuard(STAGING), chunked(inject(dump, dump.codeLineStarts, at, command), points))).toHaveProperty("refused");
      }),
      params,
    );
  });

  it("(b) refuses a named command that opens a statement after another one or a comment on the same line", async () => {
    const commands = fc.constantFrom(
      "SELECT 1; system id",
      "SELECT 1;system id",
      "/* note */ system id",
      "SELECT 1; /* x */ source /etc/passwd",
      "SET @a = 1; quit",
    );
    await fc.assert(
      fc.asyncProperty(myDump, fc.nat(), commands, cuts, async (dump, at, command, points) => {
        expect(await run(new MysqlGuard(STAGING), chunked(inject(dump, dump.statementStarts, at, command), points))).toHaveProperty("refused");
      }),
      params,
    );
  });

  it("(c) does not refuse a line that only looks like a command inside a string, name or comment", async () => {
    const container = fc.constantFrom(
      (line: string) => `SELECT '\n${line.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}\n';\n`,
      (line: string) => `SELECT "\n${line.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}\n";\n`,
      (line: string) => `SELECT 1 AS \`\n${line.replaceAll("`", "``").replace(/\\(?=`)/g, "")}\n\`;\n`,
      (line: string) => `/*\n${line.replaceAll("*/", "")}\n*/\n`,
      (line: string) => `-- ${line.replace(/[\r\n]/g, " ")}\n`,
      (line: string) => `# ${line.replace(/[\r\n]/g, " ")}\n`,
    );
    await fc.assert(
      fc.asyncProperty(myDump, fc.nat(), container, mysqlCommands, cuts, async (dump, at, wrap, line, points) => {
        const text = inject(dump, dump.statementStarts, at, wrap(line).replace(/\n$/, ""));
        expect(await run(new MysqlGuard(STAGING), chunked(text, points))).toEqual({ passed: text });
      }),
      params,
    );
  });
});
