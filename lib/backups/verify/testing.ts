import { mkdtemp, mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";

import { create, Header } from "tar";

/*
 * Real inputs for verification tests: dumps written the way pg_dump and
 * mysqldump write them, and tarballs made by node-tar (or, for entries no
 * honest tar tool writes, from raw headers).
 */

export function pgDump({ tables = ["user_", "group_", "layout"], filler = 0 }: { tables?: string[]; filler?: number } = {}): string {
  const lines = [
    "--",
    "-- PostgreSQL database dump",
    "--",
    "",
    "-- Dumped from database version 16.4",
    "-- Dumped by pg_dump version 16.4",
    "",
    "SET statement_timeout = 0;",
    "SET lock_timeout = 0;",
    "SET client_encoding = 'UTF8';",
    "SELECT pg_catalog.set_config('search_path', '', false);",
    "",
  ];
  for (const table of tables) {
    lines.push(`CREATE TABLE public.${table} (`, "    id bigint NOT NULL,", "    name character varying(75)", ");", "");
  }
  for (const table of tables) {
    lines.push(`COPY public.${table} (id, name) FROM stdin;`);
    for (let i = 0; i < 3; i++) lines.push(`${i}\trow ${i} of ${table}`);
    lines.push("\\.", "");
  }
  // Long, unique-looking rows so a test can make the file as large as it needs.
  if (filler > 0) {
    lines.push("COPY public.filler (id, data) FROM stdin;");
    let size = 0;
    for (let i = 0; size < filler; i++) {
      const row = `${i}\t${(i * 2654435761).toString(36).repeat(20)}`;
      lines.push(row);
      size += row.length + 1;
    }
    lines.push("\\.", "");
  }
  lines.push("--", "-- PostgreSQL database dump complete", "--", "");
  return lines.join("\n");
}

export function mysqlDump({ tables = ["User_", "Group_", "Layout"] }: { tables?: string[] } = {}): string {
  const lines = [
    "-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)",
    "--",
    "-- Host: localhost    Database: lportal",
    "-- ------------------------------------------------------",
    "-- Server version\t8.0.36",
    "",
    "/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;",
    "/*!40101 SET NAMES utf8mb4 */;",
    "",
    "--",
    "-- Current Database: `lportal`",
    "--",
    "",
    "/*!40000 DROP DATABASE IF EXISTS `lportal`*/;",
    "",
    "CREATE DATABASE /*!32312 IF NOT EXISTS*/ `lportal` /*!40100 DEFAULT CHARACTER SET utf8 */;",
    "",
    "USE `lportal`;",
    "",
  ];
  for (const table of tables) {
    lines.push(
      "--",
      `-- Table structure for table \`${table}\``,
      "--",
      "",
      `DROP TABLE IF EXISTS \`${table}\`;`,
      `CREATE TABLE \`${table}\` (`,
      "  `id` bigint NOT NULL,",
      "  PRIMARY KEY (`id`)",
      ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;",
      "",
      `LOCK TABLES \`${table}\` WRITE;`,
      `INSERT INTO \`${table}\` VALUES (1),(2),(3);`,
      "UNLOCK TABLES;",
      "",
    );
  }
  lines.push("-- Dump completed on 2024-05-01 10:00:00", "");
  return lines.join("\n");
}

/** gzip at level 0 stores the bytes as they are: a test file of N MiB is N MiB on the wire too. */
export function gz(content: string | Buffer, { level = 6 }: { level?: number } = {}): Buffer {
  return gzipSync(typeof content === "string" ? Buffer.from(content) : content, { level });
}

export interface RawEntry {
  path: string;
  type?: "File" | "Directory" | "SymbolicLink" | "Link" | "CharacterDevice" | "FIFO";
  body?: string | Buffer;
  linkpath?: string;
}

/** A tar built header by header, so it can hold exactly the entries a hostile archive would. */
export function rawTar(entries: readonly RawEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const body = typeof entry.body === "string" ? Buffer.from(entry.body) : (entry.body ?? Buffer.alloc(0));
    const type = entry.type ?? "File";
    const header = new Header({
      path: entry.path,
      type,
      size: type === "File" ? body.length : 0,
      mode: type === "Directory" ? 0o755 : 0o644,
      mtime: new Date("2024-05-01T10:00:00Z"),
      linkpath: entry.linkpath,
      uid: 1000,
      gid: 1000,
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block);
    if (type === "File" && body.length > 0) {
      blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024)); // end-of-archive: two zero blocks
  return Buffer.concat(blocks);
}

/** A document library as Liferay keeps it, archived by node-tar the way the seeds' `tar -czvf` does. */
export async function documentLibraryTgz({ extraBytes = 0 }: { extraBytes?: number } = {}): Promise<Buffer> {
  const dir = await mkdtemp(path.join(tmpdir(), "lifeboat-doclib-"));
  try {
    const store = path.join(dir, "document_library", "20101", "32403", "31");
    await mkdir(store, { recursive: true });
    await writeFile(path.join(store, "1.0"), "first version of a document\n");
    await writeFile(path.join(store, "1.1"), "second version of a document\n");
    if (extraBytes > 0) await writeFile(path.join(store, "big.bin"), Buffer.alloc(extraBytes, 7));
    await symlink("1.1", path.join(store, "latest"));
    const chunks: Buffer[] = [];
    for await (const chunk of create({ cwd: dir, gzip: true, portable: true }, ["document_library"])) {
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/*
 * Gzip bombs: real files that verify as a PostgreSQL dump and a document
 * library, but expand about a thousand times (64 MiB out of ~64 KiB by
 * default). Made once per size and kept: gzip'ing 64 MiB takes a moment.
 */
const bombs = new Map<string, Buffer>();

/** A pg_dump whose one COPY block holds `bytes` of 1 MiB rows of "a". */
export function gzipBombDump(bytes = 64 * 1024 * 1024): Buffer {
  const key = `dump:${bytes}`;
  let bomb = bombs.get(key);
  if (!bomb) {
    const head = Buffer.from(`${pgDump()}CREATE TABLE public.filler (id bigint, data text);\nCOPY public.filler (id, data) FROM stdin;\n`);
    const row = Buffer.concat([Buffer.from("1\t"), Buffer.alloc(1024 * 1024 - 3, "a"), Buffer.from("\n")]);
    const rows = Array.from({ length: Math.ceil(bytes / row.length) }, () => row);
    bomb = gzipSync(Buffer.concat([head, ...rows, Buffer.from("\\.\n")]), { level: 9 });
    bombs.set(key, bomb);
  }
  return bomb;
}

/** A volume.tgz holding document_library/zeros.bin, `bytes` of zeros. */
export function gzipBombVolume(bytes = 64 * 1024 * 1024): Buffer {
  const key = `volume:${bytes}`;
  let bomb = bombs.get(key);
  if (!bomb) {
    bomb = gz(
      rawTar([
        { path: "document_library/", type: "Directory" },
        { path: "document_library/zeros.bin", body: Buffer.alloc(bytes) },
      ]),
      { level: 9 },
    );
    bombs.set(key, bomb);
  }
  return bomb;
}
