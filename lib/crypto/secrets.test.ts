import { afterEach, describe, expect, it } from "vitest";

import { decryptSecret, encryptSecret, SecretError } from "./secrets";

const SECRET = "a-server-secret-that-is-long-enough-0123456789";

describe("secrets", () => {
  const saved = { auth: process.env.AUTH_SECRET, nextauth: process.env.NEXTAUTH_SECRET };
  afterEach(() => {
    process.env.AUTH_SECRET = saved.auth;
    process.env.NEXTAUTH_SECRET = saved.nextauth;
    if (saved.auth === undefined) delete process.env.AUTH_SECRET;
    if (saved.nextauth === undefined) delete process.env.NEXTAUTH_SECRET;
  });

  it("round-trips, with a fresh IV each time", () => {
    const a = encryptSecret("pä$$word with spaces", SECRET);
    const b = encryptSecret("pä$$word with spaces", SECRET);
    expect(a).not.toBe(b);
    expect(a.startsWith("v1:")).toBe(true);
    expect(a).not.toContain("word");
    expect(decryptSecret(a, SECRET)).toBe("pä$$word with spaces");
    expect(decryptSecret(encryptSecret("", SECRET), SECRET)).toBe("");
  });

  it("refuses a changed ciphertext, another key and a foreign format", () => {
    const token = encryptSecret("hunter2", SECRET);
    const bytes = Buffer.from(token.slice(3), "base64url");
    bytes[bytes.length - 1]! ^= 1;
    expect(() => decryptSecret(`v1:${bytes.toString("base64url")}`, SECRET)).toThrow(SecretError);
    expect(() => decryptSecret(token, `${SECRET}-rotated`)).toThrow(/AUTH_SECRET changed/);
    expect(() => decryptSecret("hunter2", SECRET)).toThrow(/format/);
    expect(() => decryptSecret("v1:AAAA", SECRET)).toThrow(/truncated/);
  });

  it("derives its key from AUTH_SECRET or NEXTAUTH_SECRET", () => {
    delete process.env.AUTH_SECRET;
    process.env.NEXTAUTH_SECRET = SECRET;
    const token = encryptSecret("from-env");
    expect(decryptSecret(token, SECRET)).toBe("from-env");
    process.env.AUTH_SECRET = SECRET;
    expect(decryptSecret(token)).toBe("from-env");
    delete process.env.AUTH_SECRET;
    delete process.env.NEXTAUTH_SECRET;
    expect(() => encryptSecret("x")).toThrow(/AUTH_SECRET is not set/);
  });
});
