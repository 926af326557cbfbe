import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";

import { describe, expect, it } from "vitest";

import { verifyDatabaseDump } from "./database";
import { isExpansionLimitError } from "./gzip";
import type { ExpansionLimits } from "./gzip";
import { gz, gzipBombDump, gzipBombVolume, pgDump, rawTar } from "./testing";
import { verifyVolumeArchive } from "./volume";

/** The shipped defaults (MAX_EXPANDED_SIZE=4TiB, MAX_EXPANSION_RATIO=200), spelled out so the test does not depend on the environment. */
const DEFAULTS: ExpansionLimits = { maxBytes: 4 * 1024 ** 4, maxRatio: 200 };
const RATIO_ADVICE = "If the file is genuine, an administrator of the Lifeboat server can raise MAX_EXPANSION_RATIO (0 turns the limit off).";

/** A document library whose files do not compress (random bytes), as photos and PDFs mostly do not. */
function incompressibleTgz(bytes: number): Buffer {
  return gz(
    rawTar([
      { path: "document_library/", type: "Directory" },
      { path: "document_library/scan.pdf", body: randomBytes(bytes) },
    ]),
  );
}

/** The file in 16 KiB reads, counting how many were taken: a guard that stops early leaves most of a bomb unread. */
function counted(bytes: Buffer) {
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 16 * 1024) chunks.push(bytes.subarray(i, i + 16 * 1024));
  const read = { chunks: 0, of: chunks.length };
  const stream = Readable.from(
    (function* () {
      for (const chunk of chunks) {
        read.chunks++;
        yield chunk;
      }
    })(),
  );
  return { stream, read };
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error("expected a failure");
    },
    (error: unknown) => error as Error,
  );

describe("expansion limits in verification", () => {
  it("refuses a real gzip bomb dump (64 MiB from ~64 KiB) by the ratio, long before reading all of it", async () => {
    const bomb = gzipBombDump();
    expect(bomb.length).toBeLessThan(100 * 1024);
    const { stream, read } = counted(bomb);
    const error = await failure(verifyDatabaseDump(stream, { engine: "postgresql", expansion: { limits: DEFAULTS, compressedBytes: bomb.length } }));
    expect(isExpansionLimitError(error)).toBe(true);
    expect(error.message).toBe(`database.gz expands to more than 200× its size (MAX_EXPANSION_RATIO), which is how a gzip bomb looks. ${RATIO_ADVICE}`);
    // 200 × ~64 KiB ≈ 13 MiB of the 64 MiB came out: about a fifth of the input was read.
    expect(read.chunks).toBeLessThan(read.of / 2);
  });

  it("refuses a gzip bomb volume.tgz the same way, naming the file as it was uploaded", async () => {
    const bomb = gzipBombVolume();
    const error = await failure(
      verifyVolumeArchive(Readable.from([bomb]), { fileName: "my-volume.tgz", expansion: { limits: DEFAULTS, compressedBytes: bomb.length } }),
    );
    expect(error.message).toBe(`my-volume.tgz expands to more than 200× its size (MAX_EXPANSION_RATIO), which is how a gzip bomb looks. ${RATIO_ADVICE}`);
  });

  it("refuses a file that expands past MAX_EXPANDED_SIZE, whatever its ratio", async () => {
    const dump = gz(pgDump({ filler: 3 * 1024 * 1024 }), { level: 0 });
    const limits: ExpansionLimits = { maxBytes: 2 * 1024 * 1024, maxRatio: 200 };
    const error = await failure(verifyDatabaseDump(Readable.from([dump]), { engine: "postgresql", expansion: { limits, compressedBytes: dump.length } }));
    expect(error.message).toBe(
      "database.gz expands to more than 2.0 MiB (MAX_EXPANDED_SIZE). If the file is genuine, an administrator of the Lifeboat server can raise MAX_EXPANDED_SIZE (0 turns the limit off).",
    );
    const tgz = incompressibleTgz(3 * 1024 * 1024);
    const volumeError = await failure(verifyVolumeArchive(Readable.from([tgz]), { expansion: { limits, compressedBytes: tgz.length } }));
    expect(volumeError.message).toMatch(/^volume\.tgz expands to more than 2\.0 MiB \(MAX_EXPANDED_SIZE\)\. /);
  });

  it("does not judge the ratio of a small file: a few KiB that expand 500× pass, 1 MiB of output being the least it looks at", async () => {
    const text = `${pgDump()}${"SELECT 1;\n".repeat(90_000)}`;
    const dump = gz(text, { level: 9 });
    expect(text.length / dump.length).toBeGreaterThan(200);
    expect(text.length).toBeLessThan(1024 * 1024);
    const report = await verifyDatabaseDump(Readable.from([dump]), { engine: "postgresql", expansion: { limits: DEFAULTS, compressedBytes: dump.length } });
    expect(report.uncompressedBytes).toBe(text.length);

    const zeros = gz(
      rawTar([
        { path: "document_library/", type: "Directory" },
        { path: "document_library/z", body: Buffer.alloc(900 * 1024) },
      ]),
      { level: 9 },
    );
    await expect(verifyVolumeArchive(Readable.from([zeros]), { expansion: { limits: DEFAULTS, compressedBytes: zeros.length } })).resolves.toMatchObject({
      files: 1,
    });
  });

  it("passes an ordinary dump and archive under the defaults, and a bomb once both limits are off (0)", async () => {
    const dump = gz(pgDump({ filler: 2 * 1024 * 1024 }));
    await expect(
      verifyDatabaseDump(Readable.from([dump]), { engine: "postgresql", expansion: { limits: DEFAULTS, compressedBytes: dump.length } }),
    ).resolves.toMatchObject({ engine: "postgresql" });
    const tgz = incompressibleTgz(8 * 1024 * 1024);
    await expect(verifyVolumeArchive(Readable.from([tgz]), { expansion: { limits: DEFAULTS, compressedBytes: tgz.length } })).resolves.toMatchObject({
      files: 1,
    });

    const off: ExpansionLimits = { maxBytes: null, maxRatio: null };
    const bomb = gzipBombVolume();
    await expect(verifyVolumeArchive(Readable.from([bomb]), { expansion: { limits: off, compressedBytes: bomb.length } })).resolves.toMatchObject({
      contentBytes: 64 * 1024 * 1024,
    });
  });
});
