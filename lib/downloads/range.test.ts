import { describe, expect, it } from "vitest";

import { ifRangeMatches, parseRangeHeader } from "./range";

const SIZE = 1000;

describe("parseRangeHeader", () => {
  it.each([
    ["bytes=0-0", 0, 0],
    ["bytes=10-19", 10, 19],
    ["bytes=990-", 990, 999],
    ["bytes=-1", 999, 999],
    ["bytes=-100", 900, 999],
    // A suffix longer than the file, or an end past it, means "all of it" (RFC 9110 §14.1.2).
    ["bytes=-5000", 0, 999],
    ["bytes=500-99999999999999999999", 500, 999],
    ["BYTES=1-2", 1, 2],
    [" bytes=1-2 ", 1, 2],
    ["bytes=1-2,", 1, 2],
  ])("%s → %i-%i", (header, start, end) => {
    expect(parseRangeHeader(header, SIZE)).toEqual({ kind: "partial", range: { start, end } });
  });

  it.each([undefined, "", "items=0-5", "bytes=0-1,5-6", "bytes=0-1, -5"])("%s → the whole file", (header) => {
    expect(parseRangeHeader(header, SIZE)).toEqual({ kind: "full" });
  });

  it.each(["bytes=1000-", "bytes=1000-1001", "bytes=-0", "bytes=5-4", "bytes=abc", "bytes=", "bytes=1-2,x", "bytes=--1", "bytes=1.5-2", "0-10"])(
    "%s → unsatisfiable",
    (header) => {
      expect(parseRangeHeader(header, SIZE).kind).toBe("unsatisfiable");
    },
  );

  it("cannot serve any range of an empty file", () => {
    expect(parseRangeHeader("bytes=0-", 0).kind).toBe("unsatisfiable");
    expect(parseRangeHeader("bytes=-10", 0).kind).toBe("unsatisfiable");
  });
});

describe("ifRangeMatches", () => {
  const current = { etag: `"${"ab".repeat(32)}"`, lastModified: new Date("2024-05-01T10:20:30.456Z") };

  it("honours the range without If-Range or with the current strong tag or date", () => {
    expect(ifRangeMatches(undefined, current)).toBe(true);
    expect(ifRangeMatches(current.etag, current)).toBe(true);
    expect(ifRangeMatches("Wed, 01 May 2024 10:20:30 GMT", current)).toBe(true);
  });

  it("sends the whole file for another tag, a weak tag, another date or garbage", () => {
    expect(ifRangeMatches(`"${"cd".repeat(32)}"`, current)).toBe(false);
    expect(ifRangeMatches(`W/${current.etag}`, current)).toBe(false);
    expect(ifRangeMatches("Wed, 01 May 2024 10:20:29 GMT", current)).toBe(false);
    expect(ifRangeMatches("not a date", current)).toBe(false);
  });
});
