import { Readable } from "node:stream";

import { describe, expect, it } from "vitest";

import { verifyDatabaseDump } from "./database";
import { VerificationError } from "./errors";
import { CreateTableScanner, detectDumpDialect, parseCreateTable } from "./sql";
import { gz, mysqlDump, pgDump, rawTar } from "./testing";

function stream(bytes: Buffer, chunkSize = 64 * 1024): Readable {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += chunkSize) chunks.push(bytes.subarray(offset, offset + chunkSize));
  return Readable.from(chunks);
}

async function failure(promise: Promise<unknown>): Promise<VerificationError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VerificationError);
  return error as VerificationError;
}

describe("verifyDatabaseDump", () => {
  it("accepts a PostgreSQL dump and reports engine, versions and tables", async () => {
    const report = await verifyDatabaseDump(stream(gz(pgDump())), { engine: "postgresql" });
    expect(report).toMatchObject({
      engine: "postgresql",
      serverVersion: "16.4",
      dumpTool: "pg_dump 16.4",
      tables: ["user_", "group_", "layout"],
      warnings: [],
    });
    expect(report.uncompressedBytes).toBe(Buffer.byteLength(pgDump()));
  });

  it("accepts a MySQL dump with Pascal-case tables", async () => {
    const report = await verifyDatabaseDump(stream(gz(mysqlDump())), { engine: "mysql" });
    expect(report).toMatchObject({
      engine: "mysql",
      serverVersion: "8.0.36",
      dumpTool: "mysqldump 10.13 (Distrib 8.0.36)",
      tables: ["User_", "Group_", "Layout"],
      warnings: [],
    });
  });

  it("finds tables far past the first 64 KiB, whatever the chunking", async () => {
    const text = pgDump({ tables: ["a_one"], filler: 300_000 }) + "CREATE TABLE public.late_table (id bigint);\n";
    const bytes = gz(text);
    for (const chunkSize of [1, 7, 4096, 1 << 20]) {
      const source = chunkSize === 1 ? stream(bytes, 997) : stream(bytes, chunkSize);
      const report = await verifyDatabaseDump(source, { engine: "postgresql" });
      expect(report.tables).toEqual(["a_one", "late_table"]);
    }
  });

  it("says a truncated gzip is cut short", async () => {
    const bytes = gz(pgDump({ filler: 100_000 }));
    const error = await failure(verifyDatabaseDump(stream(bytes.subarray(0, bytes.length - 100)), { engine: "postgresql" }));
    expect(error.message).toBe("database.gz is not a valid gzip file: unexpected end of file (the file is cut short)");
    expect(error.file).toBe("database.gz");
  });

  it("says bytes that are not gzip are not gzip", async () => {
    const error = await failure(verifyDatabaseDump(stream(Buffer.from(pgDump())), { engine: "postgresql" }));
    expect(error.message).toMatch(/^database\.gz is not a valid gzip file: incorrect header check/);
  });

  it("refuses gzip'd text that is not SQL", async () => {
    const text = "Lorem ipsum dolor sit amet, consectetur adipiscing elit.\n".repeat(2000);
    const error = await failure(verifyDatabaseDump(stream(gz(text)), { engine: "postgresql" }));
    expect(error.message).toBe("database.gz does not look like a SQL dump: its first 64 KiB hold no SQL statements.");
  });

  it("refuses a large gzip'd file that is not SQL with the same reason, while gunzip is still running", async () => {
    const text = "Lorem ipsum dolor sit amet, consectetur adipiscing elit.\n".repeat(40_000);
    const error = await failure(verifyDatabaseDump(stream(gz(text)), { engine: "postgresql" }));
    expect(error.message).toBe("database.gz does not look like a SQL dump: its first 64 KiB hold no SQL statements.");
  });

  it("explains a .tgz (tar inside) uploaded as the database", async () => {
    const tar = rawTar([{ path: "database.gz", body: gz(pgDump()) }]);
    const error = await failure(verifyDatabaseDump(stream(gz(tar)), { engine: "postgresql" }));
    expect(error.message).toMatch(/^database\.gz holds a tar archive, not a SQL dump/);
  });

  it("explains a double-gzip'd dump and a pg_dump custom-format archive", async () => {
    expect((await failure(verifyDatabaseDump(stream(gz(gz(pgDump()))), { engine: null }))).message).toMatch(/is compressed twice/);
    const custom = Buffer.concat([Buffer.from("PGDMP\x01\x0f\x00"), Buffer.alloc(100, 1)]);
    expect((await failure(verifyDatabaseDump(stream(gz(custom)), { engine: null }))).message).toMatch(/pg_dump custom-format/);
  });

  it("refuses a dump from the other engine, naming both", async () => {
    const error = await failure(verifyDatabaseDump(stream(gz(mysqlDump())), { engine: "postgresql", environmentLabel: "acme-prd" }));
    expect(error.message).toBe("database.gz is a MySQL/MariaDB dump, but acme-prd's database is PostgreSQL. Upload a dump of the PostgreSQL database.");
  });

  it("warns, naming the tables, when a MySQL dump has lower-case table names", async () => {
    const report = await verifyDatabaseDump(stream(gz(mysqlDump({ tables: ["user_", "Group_", "layout"] }))), { engine: "mysql" });
    expect(report.warnings).toHaveLength(1);
    expect(report.warnings[0]).toBe(
      "2 tables have all-lower-case names, but Liferay on MySQL expects Pascal case (User_, not user_): user_, layout. " +
        "Rename them before restoring (see “Ensuring Correct Table Capitalization”).",
    );
  });

  it("names at most N tables and counts the rest", async () => {
    const tables = Array.from({ length: 15 }, (_, i) => `table${i}`);
    const report = await verifyDatabaseDump(stream(gz(mysqlDump({ tables }))), { engine: "mysql", maxNamedTables: 3 });
    expect(report.warnings[0]).toContain(": table0, table1, table2 and 12 more.");
  });

  it("warns when a PostgreSQL dump has quoted upper-case table names, but folds unquoted ones", async () => {
    const text = pgDump({ tables: ["layout"] }) + 'CREATE TABLE public."User_" (id bigint);\nCREATE TABLE Group_ (id bigint);\n';
    const report = await verifyDatabaseDump(stream(gz(text)), { engine: "postgresql" });
    expect(report.tables).toEqual(["layout", "User_", "group_"]);
    expect(report.warnings).toEqual([
      "1 table has upper-case letters in its name, but Liferay on PostgreSQL expects lower case (user_, not User_): User_. Rename them before restoring.",
    ]);
  });

  it("accepts plain SQL that names no engine, with a warning", async () => {
    const text = "CREATE TABLE user_ (id int);\nINSERT INTO user_ VALUES (1);\n";
    const report = await verifyDatabaseDump(stream(gz(text)), { engine: "postgresql" });
    expect(report.engine).toBe("postgresql");
    expect(report.warnings).toEqual(["database.gz does not say which database wrote it; it was checked as a PostgreSQL dump. Make sure it is one."]);
  });

  it("warns about a dump that creates no tables", async () => {
    const report = await verifyDatabaseDump(stream(gz("-- PostgreSQL database dump\nSET statement_timeout = 0;\n")), { engine: "postgresql" });
    expect(report.warnings).toEqual([expect.stringMatching(/creates no tables/)]);
  });

  it("lets a failing source's own error through", async () => {
    const broken = new Readable({
      read() {
        this.destroy(new Error("storage went away"));
      },
    });
    await expect(verifyDatabaseDump(broken, { engine: "postgresql" })).rejects.toThrow("storage went away");
  });
});

describe("detectDumpDialect", () => {
  it("tells PostgreSQL from MySQL and MariaDB", () => {
    expect(detectDumpDialect(Buffer.from(pgDump()))).toMatchObject({ kind: "sql", engine: "postgresql" });
    const mariadb = "-- MariaDB dump 10.19  Distrib 10.11.6-MariaDB, for debian-linux-gnu (x86_64)\n-- Server version\t10.11.6-MariaDB\n";
    expect(detectDumpDialect(Buffer.from(mariadb))).toEqual({
      kind: "sql",
      engine: "mysql",
      serverVersion: "10.11.6-MariaDB",
      dumpTool: "mariadb-dump 10.19 (Distrib 10.11.6-MariaDB)",
    });
    expect(detectDumpDialect(Buffer.alloc(0))).toEqual({ kind: "not-sql", reason: "is empty once decompressed" });
  });

  it("reads the table name from every CREATE TABLE form", () => {
    expect(parseCreateTable("CREATE TABLE `User_` (")).toEqual({ name: "User_", quoted: true });
    expect(parseCreateTable("CREATE TABLE IF NOT EXISTS `lportal`.`Group_` (")).toEqual({ name: "Group_", quoted: true });
    expect(parseCreateTable('CREATE UNLOGGED TABLE "public"."Odd""Name" (')).toEqual({ name: 'Odd"Name', quoted: true });
    expect(parseCreateTable("create table public.layout(")).toEqual({ name: "layout", quoted: false });
    expect(parseCreateTable("CREATE TABLE")).toBeNull();
  });
});

describe("CreateTableScanner", () => {
  it("finds the same statements wherever the chunk boundaries fall", () => {
    const text = Buffer.from("x\nCREATE TABLE a_b (\nCREATE TABLE `C` (\nnot CREATE TABLE d (\ncreate table e (\nCREATE TABLE f");
    for (let cut = 0; cut <= text.length; cut++) {
      for (const second of [cut, Math.min(text.length, cut + 5)]) {
        const scanner = new CreateTableScanner();
        scanner.push(text.subarray(0, cut));
        scanner.push(text.subarray(cut, second));
        scanner.push(text.subarray(second));
        scanner.end();
        expect(
          scanner
            .tables()
            .map((t) => t.name)
            .sort(),
          `cut at ${cut}/${second}`,
        ).toEqual(["C", "a_b", "e", "f"]);
      }
    }
  });
});
