import { createHash, randomBytes } from "node:crypto";

/** `lbt_` + 32 random bytes in base64url (43 characters): 256 bits, so a hash lookup alone is safe. */
export const TOKEN_PREFIX = "lbt_";
export const TOKEN_PATTERN = /^lbt_[A-Za-z0-9_-]{43}$/;
/** Enough to tell tokens apart in a list, far too little to guess the rest. */
const DISPLAY_PREFIX_LENGTH = TOKEN_PREFIX.length + 6;

export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString("base64url");
}

/** What the database keeps instead of the token: a plain SHA-256 is enough for 256 random bits (no dictionary to attack). */
export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

export function displayPrefix(token: string): string {
  return token.slice(0, DISPLAY_PREFIX_LENGTH);
}

export function isWellFormedToken(value: string): boolean {
  return TOKEN_PATTERN.test(value);
}
