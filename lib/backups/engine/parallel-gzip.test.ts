import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Writable } from "node:stream";
import { gunzipSync, gzipSync } from "node:zlib";

import { describe, expect, it } from "vitest";

import { ParallelGzip } from "./parallel-gzip";

async function compress(chunks: Buffer[], parallelism?: number): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(chunks),
    new ParallelGzip({ level: 1, parallelism }),
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        out.push(chunk);
        callback();
      },
    }),
  );
  return Buffer.concat(out);
}

function sqlLike(bytes: number): Buffer {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const line = `${i}\tacct-${i % 5000}\t${i % 3 === 0 ? createHash("md5").update(String(i)).digest("hex") : `viewed /web/guest/home?p=${i % 977}`}\t2024-01-01 00:00:${String(i % 60).padStart(2, "0")}+00\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join("")).subarray(0, bytes);
}

describe("ParallelGzip", () => {
  it("makes one standard gzip member that gunzip and zlib read back exactly", async () => {
    const input = sqlLike(5 * 1024 * 1024 + 12_345);
    // Uneven chunks, like a pipe delivers them.
    const chunks: Buffer[] = [];
    for (let at = 0; at < input.length;) {
      const size = 1 + Math.floor(Math.random() * 200_000);
      chunks.push(input.subarray(at, at + size));
      at += size;
    }
    const gz = await compress(chunks);
    expect(gunzipSync(gz).equals(input)).toBe(true);
    const viaGunzip = execFileSync("gunzip", ["-c"], { input: gz, maxBuffer: 64 * 1024 * 1024 });
    expect(viaGunzip.equals(input)).toBe(true);
    execFileSync("gzip", ["-t"], { input: gz });
    // The shared dictionaries keep the ratio of a single stream.
    expect(gz.length).toBeLessThan(gzipSync(input, { level: 1 }).length * 1.01);
  });

  it("handles empty input, one byte, and incompressible data, in any parallelism", async () => {
    expect(gunzipSync(await compress([])).length).toBe(0);
    expect(gunzipSync(await compress([Buffer.from("x")])).toString()).toBe("x");
    const noise = randomBytes(3 * 1024 * 1024);
    for (const parallelism of [1, 2, 4]) expect(gunzipSync(await compress([noise], parallelism)).equals(noise)).toBe(true);
  });
});
