import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";

/** A small but real PostgreSQL dump, gzip'd: what `pg_dump | gzip > database.gz` makes. */
export function writeDatabaseGz(dir: string, rows = 2_000): string {
  const lines = [
    "--",
    "-- PostgreSQL database dump",
    "--",
    "SET statement_timeout = 0;",
    "SET client_encoding = 'UTF8';",
    "CREATE TABLE public.user_ (userid bigint NOT NULL, screenname character varying(75), emailaddress character varying(254));",
    "COPY public.user_ (userid, screenname, emailaddress) FROM stdin;",
    ...Array.from({ length: rows }, (_, i) => `${i + 1}\tuser${i}\tuser${i}@example.test`),
    "\\.",
    "--",
    "-- PostgreSQL database dump complete",
    "--",
    "",
  ];
  const file = path.join(dir, "database.gz");
  fs.writeFileSync(file, zlib.gzipSync(lines.join("\n")));
  return file;
}

/** `cd data && tar -czf volume.tgz document_library`, with some incompressible bytes so it has weight. */
export function writeVolumeTgz(dir: string, randomKiB = 512): string {
  const data = path.join(dir, "data");
  const folder = path.join(data, "document_library", "20101", "32145");
  fs.mkdirSync(folder, { recursive: true });
  fs.writeFileSync(path.join(folder, "1.0"), randomBytes(randomKiB * 1024));
  fs.writeFileSync(path.join(folder, "readme.txt"), "uploaded by the e2e suite\n");
  const file = path.join(dir, "volume.tgz");
  execFileSync("tar", ["-czf", file, "document_library"], { cwd: data });
  return file;
}

/** A .tgz whose one entry climbs out of the document library. */
export function writeEscapingTgz(dir: string): string {
  const file = path.join(dir, "evil.tgz");
  execFileSync("python3", [
    "-c",
    [
      "import io, sys, tarfile",
      "t = tarfile.open(sys.argv[1], 'w:gz')",
      "data = b'pwned'",
      "info = tarfile.TarInfo('document_library/../../evil.txt'); info.size = len(data)",
      "t.addfile(info, io.BytesIO(data)); t.close()",
    ].join("\n"),
    file,
  ]);
  return file;
}

/** Starts like gzip (so the browser's check passes) but is cut short. */
export function writeTruncatedGz(dir: string): string {
  const whole = zlib.gzipSync(Buffer.from("-- PostgreSQL database dump\n" + "x".repeat(100_000)));
  const file = path.join(dir, "truncated.gz");
  fs.writeFileSync(file, whole.subarray(0, Math.floor(whole.length / 2)));
  return file;
}

export function sha256File(file: string): string {
  return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}
