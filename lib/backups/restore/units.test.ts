import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import type { Transform } from "node:stream";
import { text } from "node:stream/consumers";

import { describe, expect, it } from "vitest";

import { MysqlGuard, PsqlGuard } from "./client-guard";
import { databaseNames } from "./database";
import { mysqlDatabaseEditor, postgresOwnerEditor, SqlLineTransform } from "./sql-lines";
import type { LineEditor } from "./sql-lines";
import { checkServerVersions, parseServerVersion } from "./version";
import { checkFreeSpace, unsafeEntryReason } from "./volume";

/** Feeds `input` in chunks of `size` bytes, so lines are cut at every possible place. */
async function edit(editor: LineEditor, input: string, size: number): Promise<string> {
  const bytes = Buffer.from(input);
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return text(Readable.from(chunks).pipe(new SqlLineTransform(editor)));
}

describe("server versions", () => {
  it("reads PostgreSQL majors, MySQL and MariaDB major.minor", () => {
    expect(parseServerVersion("postgresql", "15.20 (Debian 15.20-0+deb12u1)")).toEqual({ flavor: "postgresql", release: [15], label: "15" });
    expect(parseServerVersion("postgresql", "9.6.24")?.label).toBe("9.6");
    expect(parseServerVersion("mysql", "10.11.19-MariaDB-0+deb12u1")).toEqual({ flavor: "mariadb", release: [10, 11], label: "10.11" });
    expect(parseServerVersion("mysql", "8.0.36")).toMatchObject({ flavor: "mysql", label: "8.0" });
    expect(parseServerVersion("mysql", "garbage")).toBeNull();
  });

  it("refuses newer into older, allows same or older, and notes what it cannot compare", () => {
    const refused = checkServerVersions("postgresql", { backup: "99.0", target: "15.20 (Debian)" });
    expect(refused.allowed).toBe(false);
    expect(!refused.allowed && refused.reason).toMatch(/PostgreSQL 99 .* target server runs PostgreSQL 15 .*upgrade the target server first/);
    expect(checkServerVersions("postgresql", { backup: "15.4", target: "15.20" })).toEqual({ allowed: true, note: null });
    expect(checkServerVersions("postgresql", { backup: "14.1", target: "16.0" })).toEqual({ allowed: true, note: null });
    expect(checkServerVersions("mysql", { backup: "10.11.6-MariaDB", target: "10.6.12-MariaDB" }).allowed).toBe(false);
    expect(checkServerVersions("mysql", { backup: "10.6.12-MariaDB", target: "10.11.6-MariaDB" }).allowed).toBe(true);
    expect(checkServerVersions("postgresql", { backup: null, target: "15.2" })).toMatchObject({ allowed: true, note: expect.stringMatching(/not compared/) });
    expect(checkServerVersions("mysql", { backup: "8.0.36", target: "10.11.6-MariaDB" })).toMatchObject({
      allowed: true,
      note: expect.stringMatching(/MySQL 8.0.*MariaDB 10.11/),
    });
  });
});

describe("dump line edits", () => {
  const pgDump = [
    "SET client_encoding = 'UTF8';",
    "CREATE TABLE public.accounts (id integer, note text);",
    "ALTER TABLE public.accounts OWNER TO someone_else;",
    "ALTER TABLE ONLY public.accounts ADD CONSTRAINT accounts_pkey PRIMARY KEY (id);",
    "COPY public.accounts (id, note) FROM stdin;",
    "1\tALTER TABLE x OWNER TO y;",
    "ALTER TABLE inside OWNER TO copy_data;",
    "\\.",
    "ALTER SEQUENCE public.s OWNER TO someone_else;",
    "",
  ].join("\n");

  it("drops OWNER TO outside COPY data only, whatever the chunking", async () => {
    for (const size of [1, 3, 7, 64, 100_000]) {
      const out = await edit(postgresOwnerEditor(), pgDump, size);
      expect(out).not.toContain("OWNER TO someone_else");
      expect(out).toContain("ALTER TABLE inside OWNER TO copy_data;\n");
      expect(out).toContain("1\tALTER TABLE x OWNER TO y;\n");
      expect(out).toContain("ADD CONSTRAINT accounts_pkey");
      expect(out.split("\n")).toHaveLength(pgDump.split("\n").length - 2);
    }
  });

  it("passes long COPY blocks through byte for byte, rows starting with a backslash included, whatever the chunking", async () => {
    const rows = Array.from({ length: 2000 }, (_, i) => (i % 7 === 0 ? `\\N\trow ${i}` : `${i}\tALTER TABLE t OWNER TO r;`));
    const dump = [
      "COPY public.a (id, note) FROM stdin;",
      ...rows,
      "\\.",
      "ALTER TABLE public.a OWNER TO someone_else;",
      "COPY public.b (id) FROM stdin;",
      "\\.",
      "COPY public.c (id, note) FROM stdin;",
      ...rows,
      "\\.",
      "",
    ].join("\n");
    const expected = dump.replace("ALTER TABLE public.a OWNER TO someone_else;\n", "");
    for (const size of [1, 2, 3, 5, 13, 1000, 4096, 100_000]) {
      expect(await edit(postgresOwnerEditor(), dump, size)).toBe(expected);
    }
  });

  it("points mysqldump's DROP/CREATE DATABASE and USE at the staging database, and nothing else", async () => {
    const dump = [
      "-- Current Database: `lportal`",
      "/*!40000 DROP DATABASE IF EXISTS `lportal`*/;",
      "CREATE DATABASE /*!32312 IF NOT EXISTS*/ `lportal` /*!40100 DEFAULT CHARACTER SET utf8mb4 */;",
      "USE `lportal`;",
      "INSERT INTO `User_` VALUES (1,'USE `lportal`;');",
      "",
    ].join("\n");
    for (const size of [1, 5, 4096]) {
      const out = await edit(mysqlDatabaseEditor("lportal_lbstage_ab12cd34"), dump, size);
      expect(out).toBe(
        dump
          .replace("DROP DATABASE IF EXISTS `lportal`", "DROP DATABASE IF EXISTS `lportal_lbstage_ab12cd34`")
          .replace("*/ `lportal` /*!40100", "*/ `lportal_lbstage_ab12cd34` /*!40100")
          .replace("\nUSE `lportal`;", "\nUSE `lportal_lbstage_ab12cd34`;"),
      );
    }
    await expect(edit(mysqlDatabaseEditor("s"), "USE `a`;\nUSE `b`;\n", 3)).rejects.toThrow(/more than one database \(a and b\)/);
  });

  it("keeps staging names inside the engines' limits", () => {
    const long = "x".repeat(70);
    expect(Buffer.byteLength(databaseNames("postgresql", long, "ab12cd34").staging)).toBe(63);
    expect(databaseNames("mysql", "lportal", "ab12cd34")).toEqual({ staging: "lportal_lbstage_ab12cd34", old: "lportal_lbold_ab12cd34" });
  });
});

describe("volume entries", () => {
  it("fails early when the volume's disk cannot hold the archive", async () => {
    await expect(checkFreeSpace(path.join(tmpdir(), "some-volume"), 1)).resolves.toBeUndefined();
    await expect(checkFreeSpace(path.join(tmpdir(), "some-volume"), 2 ** 60)).rejects.toThrow(
      /^There is not enough free disk space beside .*some-volume: the document library needs at least \d+ MiB, but only \d+ MiB is free\.$/,
    );
    await expect(checkFreeSpace("/no/such/parent/volume", 1)).rejects.toThrow(/The folder \/no\/such\/parent, where the volume folder/);
  });

  it("refuses entries that would land outside document_library", () => {
    const ok = (p: string, type = "File", linkpath?: string) => unsafeEntryReason({ path: p, type: type as never, linkpath });
    expect(ok("document_library/a/b.txt")).toBeNull();
    expect(ok("./document_library/a/", "Directory")).toBeNull();
    expect(ok("./", "Directory")).toBeNull();
    expect(ok("document_library/latest", "SymbolicLink", "a/b.txt")).toBeNull();
    expect(ok("/etc/passwd")).toMatch(/absolute/);
    expect(ok("document_library/../evil")).toMatch(/“\.\.”/);
    expect(ok("evil.txt")).toMatch(/outside document_library/);
    expect(ok("document_library/x", "SymbolicLink", "../../etc")).toMatch(/links to "..\/..\/etc", outside/);
    expect(ok("document_library/x", "SymbolicLink", "/etc")).toMatch(/absolute path/);
    expect(ok("document_library/x", "Link", "etc/passwd")).toMatch(/hard link/);
    expect(ok("document_library/dev", "CharacterDevice")).toMatch(/CharacterDevice/);
  });
});

describe("client command guards", () => {
  async function through(guard: () => Transform, input: string, size: number): Promise<string> {
    const bytes = Buffer.from(input);
    const chunks: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
    return text(Readable.from(chunks).pipe(guard()));
  }
  const sizes = [1, 2, 5, 13, 1 << 20];

  it("passes pg_dump's own output untouched: \\restrict, COPY rows with backslashes, dollar quotes, E'' strings", async () => {
    const dump = [
      "\\restrict abcDEF123",
      "SET standard_conforming_strings = on;",
      "CREATE FUNCTION public.f() RETURNS text LANGUAGE sql AS $_$ select 'it''s \\ fine' $_$;",
      'CREATE TABLE public."We""ird" (id int, note text DEFAULT E\'a\\\'b\\\\\');',
      "/* block /* nested */ \\! not a command */",
      "-- comment with \\! in it",
      "COPY public.t (id, note) FROM stdin;",
      "1\t\\N",
      "2\tback\\\\slash\\ttab \\! not a command in data",
      "\\.",
      "SELECT $$ multi",
      "\\! inside dollar quotes $$;",
      "\\unrestrict abcDEF123",
      "",
    ].join("\n");
    for (const size of sizes) expect(await through(() => new PsqlGuard(), dump, size)).toBe(dump);
  });

  it("refuses psql commands outside quotes, wherever they hide", async () => {
    const attacks = [
      "SELECT 1; \\! touch /tmp/pwned\n",
      "\\connect other\n",
      "SELECT 'a' \\g /tmp/out\n",
      "COPY t FROM stdin;\n1\n\\.\n\\! after the data\n",
      "SELECT 1;\n  \\restrict not-at-line-start-is-fine-but-this-is-indented\n",
    ];
    for (const attack of attacks) {
      for (const size of [1, 7, 1 << 20]) {
        await expect(through(() => new PsqlGuard(), attack, size)).rejects.toThrow(/psql client command "\\\\/);
      }
    }
    await expect(through(() => new PsqlGuard(), "SELECT 'C:\\path';\n", 4)).rejects.toThrow(/standard_conforming_strings/);
  });

  // The smallest cases the property tests (client-guard.property.test.ts) and a reading of psqlscan.l found.
  it("reads a dollar quote right after a number or another quote as psql does, and refuses where psql versions differ", async () => {
    for (const dump of ["SELECT 1$$\n\\! id\n$$;\n", "SELECT $$x$$$a$\n\\! id\n$a$;\n", "SELECT 'x'$$ -- $$, 3.14$q$ ' $q$;\n"]) {
      for (const size of sizes) expect(await through(() => new PsqlGuard(), dump, size)).toBe(dump);
    }
    for (const attack of [
      "SELECT 1$$ /* $$ \\! id\n*/;\n",
      "SELECT 1$$ /* $$;\n\\! id\n*/\n",
      "SELECT $$x$$$a$ /* $a$;\n\\! id\n*/\n",
      "SELECT 'x'$a$ -- $a$ \\! id\n",
    ]) {
      for (const size of [1, 7, 1 << 20])
        await expect(
          through(() => new PsqlGuard(), attack, size),
          attack,
        ).rejects.toThrow('psql client command "\\\\! id');
    }
    await expect(through(() => new PsqlGuard(), "SELECT 1e$a$ /* $a$;\n", 1 << 20)).rejects.toThrow(/dollar quote \$a\$ right after a number with letters/);
  });

  it("refuses what psql runs around \\restrict, after a carriage return, and inside COPY statements it would not read data for", async () => {
    const attacks = [
      ["\\restrict k \\! id\n", /psql client command/],
      ["\\unrestrict k\r\\! id\n", /psql client command/],
      ["\\restrict `id`\n", /psql client command/],
      ["SELECT 1; -- note\r\\! id\n", /psql client command/],
      ["SELECT (1;\nCOPY t FROM stdin;\n\\! id\n\\.\n2);\n", /psql client command/],
      ["COPY (SELECT a FROM stdin) TO STDOUT;\n\\! id\n\\.\n", /COPY statement naming STDIN in a form other than/],
      [
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC\nSELECT 1;\nCOPY t FROM stdin;\n\\! id\n\\.\nEND;\n",
        /inside CREATE FUNCTION … BEGIN ATOMIC/,
      ],
      ["COPY t FROM/**/STDIN;\nE'\n\\.\n\\! id\n'\n", /psql client command/],
      ["COPY t FROM stdin; /*\n1\n\\.\nE' */ \\! id '\n", /more on the line after a COPY/],
    ] as const;
    for (const [attack, reason] of attacks) {
      for (const size of [1, 7, 1 << 20])
        await expect(
          through(() => new PsqlGuard(), attack, size),
          attack,
        ).rejects.toThrow(reason);
    }
    const fine =
      "\\restrict Ab3\r\nCOPY t FROM stdin; -- data follows\n1\n\\.\nCREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n SELECT 1;\nEND;\nCOPY t FROM/**/STDIN;\n\\! data\n\\.\n\\unrestrict Ab3\n";
    for (const size of sizes) expect(await through(() => new PsqlGuard(), fine, size)).toBe(fine);
  });

  it("refuses mysql commands after spaces, after another statement on the line, the long-named and quitting ones, and what the clients read differently", async () => {
    const attacks = [
      "  system id\n",
      "\tsystem id\n",
      "SELECT 1; system id\n",
      "/* note */ system id;\n",
      "ssl_session_data_print /tmp/out\n",
      "quit\n",
      "DELIMITER '\n\\! id\n'\n",
      "--x '\n\\! id\n'\n",
      "/*M!100000 ' */ \\! id '*/;\n",
      "SELECT /*+ \\! id */ 1;\n",
      "SELECT `a\\`' \\! id ';\n",
    ];
    for (const attack of attacks) {
      for (const size of [1, 3, 1 << 20])
        await expect(
          through(() => new MysqlGuard("`lportal_lbstage_1`"), attack, size),
          attack,
        ).rejects.toThrow(/database\.gz/);
    }
    const fine =
      "DELIMITER ;;\nCREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN SET @a = 1; SET @b = 'x;y'; END ;;\nDELIMITER ;\nSELECT 1 -- trailing\n;\n";
    for (const size of sizes) expect(await through(() => new MysqlGuard("`lportal_lbstage_1`"), fine, size)).toBe(fine);
  });

  it("passes mysqldump's output untouched and refuses mysql client commands", async () => {
    const dump = [
      "/*M!999999\\- enable the sandbox mode */ ",
      "/*!40101 SET NAMES utf8mb4 */;",
      "USE `lportal_lbstage_1`;",
      "INSERT INTO `User_` VALUES (1,'it\\'s \\\\ \\0 fine','x\"y'),(2,\"d\\\"q\",NULL);",
      "/* plain comment \\! not run */",
      "-- comment \\! not run",
      "# comment \\! not run",
      "DELIMITER ;;",
      "",
    ].join("\n");
    for (const size of sizes) expect(await through(() => new MysqlGuard("`lportal_lbstage_1`"), dump, size)).toBe(dump);
    const attacks = [
      "system touch /tmp/pwned\n",
      "SELECT 1; \\! touch /tmp/pwned\n",
      "SELECT 2 /*! , 5 \\! touch /tmp/pwned */;\n",
      "source /etc/passwd\n",
      "USE `lportal`;\n",
      "use lportal\n",
    ];
    for (const attack of attacks) {
      for (const size of [1, 3, 1 << 20]) {
        await expect(through(() => new MysqlGuard("`lportal_lbstage_1`"), attack, size)).rejects.toThrow(/mysql client command/);
      }
    }
  });
});
