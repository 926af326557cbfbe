import { describe, expect, it } from "vitest";

import { BACKUP_ID_PATTERN, formatBackupTimestamp, generateBackupId, parseBackupId } from "./backup-id";

describe("backup IDs", () => {
  it("joins project, random letters and the UTC minute with dashes", () => {
    const id = generateBackupId("acme", new Date(Date.UTC(2019, 9, 3, 17, 23, 59)));
    expect(id).toMatch(/^acme-[a-z]{18}-201910031723$/);
    expect(generateBackupId("acme")).not.toBe(generateBackupId("acme"));
  });

  it("parses the documented example back into its parts", () => {
    const parsed = parseBackupId("dxpcloud-lqgqnewltbexuewymq-201910031723");
    expect(parsed?.projectId).toBe("dxpcloud");
    expect(parsed?.random).toBe("lqgqnewltbexuewymq");
    expect(parsed?.createdAt.toISOString()).toBe("2019-10-03T17:23:00.000Z");
  });

  it("rejects malformed IDs and impossible dates", () => {
    for (const bad of [
      "",
      "acme",
      "acme-abc-201910031723",
      "acme-lqgqnewltbexuewymq-2019100317",
      "ACME-lqgqnewltbexuewymq-201910031723",
      "acme-lqgqnewltbexuewymq-201913031723",
      "../etc-lqgqnewltbexuewymq-201910031723",
    ]) {
      expect(parseBackupId(bad), bad).toBeNull();
    }
    expect(BACKUP_ID_PATTERN.test("a-b-c")).toBe(false);
  });

  it("refuses a project slug that cannot start an ID", () => {
    expect(() => generateBackupId("Bad-Project")).toThrow();
    expect(formatBackupTimestamp(new Date(Date.UTC(2026, 0, 2, 3, 4)))).toBe("202601020304");
  });
});
