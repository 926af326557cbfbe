import { describe, expect, it } from "vitest";

import { choosePartSize, countParts, DEFAULT_UPLOAD_LIMITS, expectedPartSize, GiB, MiB, TiB } from "./limits";

describe("choosePartSize", () => {
  it("uses 32 MiB parts for everyday files", () => {
    expect(choosePartSize(1)).toBe(32 * MiB);
    expect(choosePartSize(2 * GiB)).toBe(32 * MiB);
    expect(countParts(2 * GiB, choosePartSize(2 * GiB))).toBe(64);
  });

  it("grows parts in whole MiB so every file up to 1 TiB fits in 10,000 parts", () => {
    for (const size of [80 * GiB, 320 * GiB + 1, 625 * GiB, 625 * GiB + 1, 900 * GiB, TiB - 1, TiB]) {
      const partSize = choosePartSize(size);
      expect(partSize % MiB).toBe(0);
      expect(countParts(size, partSize)).toBeLessThanOrEqual(10_000);
      // Never larger than needed: one MiB less would not fit (or would go under the minimum).
      expect(partSize === DEFAULT_UPLOAD_LIMITS.minPartSize || countParts(size, partSize - MiB) > 10_000).toBe(true);
    }
    expect(choosePartSize(625 * GiB)).toBe(64 * MiB);
    expect(choosePartSize(TiB)).toBe(105 * MiB);
  });

  it("keeps the largest part far under Node's 300 s request limit at 1 MiB/s", () => {
    const seconds = choosePartSize(DEFAULT_UPLOAD_LIMITS.maxFileSize) / MiB; // at 1 MiB/s
    expect(seconds).toBeLessThan(120);
  });

  it("makes the last part hold the rest", () => {
    expect(expectedPartSize(20 * MiB, 8 * MiB, 1)).toBe(8 * MiB);
    expect(expectedPartSize(20 * MiB, 8 * MiB, 3)).toBe(4 * MiB);
    expect(expectedPartSize(16 * MiB, 8 * MiB, 2)).toBe(8 * MiB);
    expect(() => choosePartSize(0)).toThrow(RangeError);
  });
});
