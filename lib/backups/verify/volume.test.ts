import { Readable } from "node:stream";
import { gunzipSync } from "node:zlib";

import { Parser } from "tar";
import type { ReadEntry } from "tar";
import { describe, expect, it } from "vitest";

import { VerificationError } from "./errors";
import { documentLibraryTgz, gz, pgDump, rawTar } from "./testing";
import type { RawEntry } from "./testing";
import { verifyVolumeArchive } from "./volume";

function stream(bytes: Buffer, chunkSize = 64 * 1024): Readable {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += chunkSize) chunks.push(bytes.subarray(offset, offset + chunkSize));
  return Readable.from(chunks);
}

/** Lists an archive without judging it, to prove a hostile entry really is in there. */
function listEntries(tgz: Buffer): { path: string; type: string; linkpath?: string }[] {
  const entries: { path: string; type: string; linkpath?: string }[] = [];
  const parser = new Parser({
    onReadEntry: (entry: ReadEntry) => {
      entries.push({ path: entry.path, type: entry.type, ...(entry.linkpath ? { linkpath: entry.linkpath } : {}) });
      entry.resume();
    },
  });
  parser.end(gunzipSync(tgz));
  return entries;
}

async function failure(tgz: Buffer): Promise<string> {
  const error = await verifyVolumeArchive(stream(tgz)).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VerificationError);
  return (error as VerificationError).message;
}

const GOOD: RawEntry[] = [
  { path: "document_library/", type: "Directory" },
  { path: "document_library/1/2/1.0", body: "a document" },
];

describe("verifyVolumeArchive", () => {
  it("accepts a document library archived by tar", async () => {
    const tgz = await documentLibraryTgz();
    const report = await verifyVolumeArchive(stream(tgz, 100));
    expect(report).toMatchObject({ files: 2, links: 1, contentBytes: 28 + 29 });
    expect(report.directories).toBe(4);
    expect(report.entries).toBe(7);
    expect(report.uncompressedBytes % 512).toBe(0);
  });

  it("accepts entries written as ./document_library/… (tar -C data .)", async () => {
    const tgz = gz(
      rawTar([
        { path: "./", type: "Directory" },
        { path: "./document_library/", type: "Directory" },
        { path: "./document_library/x", body: "x" },
      ]),
    );
    await expect(verifyVolumeArchive(stream(tgz))).resolves.toMatchObject({ files: 1, directories: 2 });
  });

  it("refuses an entry with ..", async () => {
    const tgz = gz(rawTar([...GOOD, { path: "document_library/../evil", body: "boo" }]));
    expect(listEntries(tgz).map((e) => e.path)).toContain("document_library/../evil");
    expect(await failure(tgz)).toBe(
      'volume.tgz has an unsafe entry "document_library/../evil": it contains “..”. A volume file holds only the document_library folder ' +
        "(cd $LIFERAY_HOME/data && tar -czvf volume.tgz document_library).",
    );
  });

  it("refuses a ../ entry at the top", async () => {
    const tgz = gz(rawTar([{ path: "../evil", body: "boo" }, ...GOOD]));
    expect(listEntries(tgz)[0]?.path).toBe("../evil");
    expect(await failure(tgz)).toMatch(/^volume\.tgz has an unsafe entry "\.\.\/evil": it contains “\.\.”/);
  });

  it("refuses an absolute path", async () => {
    const tgz = gz(rawTar([...GOOD, { path: "/etc/passwd", body: "root:x:0:0::/root:/bin/sh\n" }]));
    expect(listEntries(tgz).map((e) => e.path)).toContain("/etc/passwd");
    expect(await failure(tgz)).toMatch(/^volume\.tgz has an unsafe entry "\/etc\/passwd": it is an absolute path\./);
  });

  it("refuses a symlink that points out of the document library", async () => {
    const tgz = gz(rawTar([...GOOD, { path: "document_library/1/escape", type: "SymbolicLink", linkpath: "../../x" }]));
    expect(listEntries(tgz)).toContainEqual({ path: "document_library/1/escape", type: "SymbolicLink", linkpath: "../../x" });
    expect(await failure(tgz)).toMatch(/unsafe entry "document_library\/1\/escape": it links to "\.\.\/\.\.\/x", outside document_library\//);
  });

  it("refuses a symlink to an absolute path, and a hard link out", async () => {
    const absolute = gz(rawTar([...GOOD, { path: "document_library/etc", type: "SymbolicLink", linkpath: "/etc" }]));
    expect(await failure(absolute)).toMatch(/it links to the absolute path "\/etc"/);
    const hard = gz(rawTar([...GOOD, { path: "document_library/h", type: "Link", linkpath: "etc/passwd" }]));
    expect(listEntries(hard)).toContainEqual({ path: "document_library/h", type: "Link", linkpath: "etc/passwd" });
    expect(await failure(hard)).toMatch(/it is a hard link to "etc\/passwd", outside document_library\//);
  });

  it("refuses a link that steps out through another link", async () => {
    const tgz = gz(
      rawTar([
        ...GOOD,
        { path: "document_library/a", type: "SymbolicLink", linkpath: "." },
        { path: "document_library/b", type: "SymbolicLink", linkpath: "a/.." },
      ]),
    );
    expect(await failure(tgz)).toMatch(/unsafe entry "document_library\/b": it links to "a\/\.\.", which steps out of another link/);
  });

  it("accepts links that stay inside", async () => {
    const tgz = gz(
      rawTar([
        ...GOOD,
        { path: "document_library/1/latest", type: "SymbolicLink", linkpath: "2/1.0" },
        { path: "document_library/copy", type: "Link", linkpath: "document_library/1/2/1.0" },
      ]),
    );
    await expect(verifyVolumeArchive(stream(tgz))).resolves.toMatchObject({ links: 2 });
  });

  it("refuses entries outside document_library", async () => {
    const tgz = gz(rawTar([...GOOD, { path: "data/elasticsearch7/x", body: "x" }]));
    expect(await failure(tgz)).toMatch(/unsafe entry "data\/elasticsearch7\/x": it is outside document_library\//);
  });

  it("refuses devices", async () => {
    const tgz = gz(rawTar([...GOOD, { path: "document_library/tty", type: "CharacterDevice" }]));
    expect(await failure(tgz)).toMatch(/it is a CharacterDevice, which a document library cannot hold/);
  });

  it("says a truncated .tgz is cut short", async () => {
    const tgz = await documentLibraryTgz({ extraBytes: 200_000 });
    expect(await failure(tgz.subarray(0, Math.floor(tgz.length / 2)))).toBe(
      "volume.tgz is not a valid gzip file: unexpected end of file (the file is cut short)",
    );
  });

  it("says a tar cut short inside a file is truncated, even in valid gzip", async () => {
    const tar = rawTar([...GOOD, { path: "document_library/big", body: Buffer.alloc(10_000, 1) }]);
    expect(await failure(gz(tar.subarray(0, 2048)))).toMatch(/^volume\.tgz is not a valid tar archive: Truncated input/);
  });

  it("says a tar cut short between entries has no end marker", async () => {
    const tar = rawTar([...GOOD, { path: "document_library/more", body: "x" }]);
    expect(await failure(gz(tar.subarray(0, 512 * 3)))).toBe(
      "volume.tgz is not a valid tar archive: it ends without tar's end-of-archive marker (the archive is cut short).",
    );
    expect(await failure(gz(tar.subarray(0, 512 * 3 + 100)))).toMatch(/end-of-archive marker/);
  });

  it("says gzip'd SQL is not a tar archive, and plain bytes are not gzip", async () => {
    expect(await failure(gz(pgDump()))).toBe("volume.tgz is not a tar archive (it decompresses, but holds something else).");
    expect(await failure(rawTar(GOOD))).toMatch(/^volume\.tgz is not a valid gzip file: incorrect header check/);
  });

  it("says an archive with nothing in it is empty", async () => {
    expect(await failure(gz(Buffer.alloc(1024)))).toMatch(/is empty; it should hold the document_library folder/);
  });
});
