import { describe, expect, it } from "vitest";

import { formatBytes, formatDateTime, formatDuration } from "./format";

describe("formatBytes", () => {
  it("uses binary units", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1023)).toBe("1023 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(200 * 1024 * 1024)).toBe("200 MiB");
    expect(formatBytes(3 * 1024 ** 4)).toBe("3.0 TiB");
    expect(formatBytes(null)).toBe("—");
  });
});

describe("formatDateTime", () => {
  it("always names the time zone", () => {
    expect(formatDateTime("2019-10-03T17:23:00Z", "UTC")).toBe("3 Oct 2019, 17:23 UTC");
    expect(formatDateTime("2019-10-03T17:23:00Z", "Europe/Madrid")).toMatch(/19:23 CEST$/);
  });
});

describe("formatDuration", () => {
  it("says seconds, minutes and hours as people do", () => {
    expect(formatDuration(0.4)).toBe("0 s");
    expect(formatDuration(45)).toBe("45 s");
    expect(formatDuration(92.19)).toBe("1 min 32 s");
    expect(formatDuration(120)).toBe("2 min");
    expect(formatDuration(7_500)).toBe("2 h 5 min");
    expect(formatDuration(3_600)).toBe("1 h");
    expect(formatDuration(null)).toBe("—");
    expect(formatDuration(-1)).toBe("—");
  });
});
