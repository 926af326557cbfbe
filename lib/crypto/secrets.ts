import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

/*
 * Secrets we must be able to read back (an environment's database password):
 * AES-256-GCM, so a changed ciphertext fails to decrypt instead of yielding
 * garbage. The key is derived with HKDF from the server's AUTH_SECRET, so
 * there is no second secret to configure or lose; rotating AUTH_SECRET means
 * entering the passwords again.
 */

const VERSION = "v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;
// Binds the derived key to this one use: the same AUTH_SECRET also signs sessions.
const HKDF_INFO = "lifeboat environment secrets v1";
const HKDF_SALT = "lifeboat";

export class SecretError extends Error {
  override readonly name = "SecretError";
}

function serverSecret(): string {
  // server.ts puts the resolved secret (AUTH_SECRET, or the embedded default's kept one) in NEXTAUTH_SECRET.
  const secret = process.env.NEXTAUTH_SECRET ?? process.env.AUTH_SECRET;
  if (!secret) throw new SecretError("AUTH_SECRET is not set, so stored passwords cannot be encrypted or read.");
  return secret;
}

function deriveKey(secret: string): Buffer {
  return Buffer.from(hkdfSync("sha256", secret, HKDF_SALT, HKDF_INFO, 32));
}

/** `v1:<base64url(iv | tag | ciphertext)>`. */
export function encryptSecret(plaintext: string, secret: string = serverSecret()): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", deriveKey(secret), iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return `${VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString("base64url")}`;
}

export function decryptSecret(encrypted: string, secret: string = serverSecret()): string {
  const [version, body] = encrypted.split(":");
  if (version !== VERSION || !body) throw new SecretError("The stored secret is not in a format this Lifeboat can read.");
  const bytes = Buffer.from(body, "base64url");
  if (bytes.length < IV_BYTES + TAG_BYTES) throw new SecretError("The stored secret is truncated.");
  const decipher = createDecipheriv("aes-256-gcm", deriveKey(secret), bytes.subarray(0, IV_BYTES));
  decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString("utf8");
  } catch (error) {
    throw new SecretError("The stored secret cannot be decrypted: it was changed, or AUTH_SECRET changed since it was saved.", { cause: error });
  }
}
