import { createHmac, timingSafeEqual } from "node:crypto";

import { downloadPath } from "@/lib/backups/serialize";
import { AppError } from "@/lib/errors";

import type { DownloadKind } from "./representation";

/*
 * Time-limited download links, like Cloud 66's "public URL to a backup
 * file": `/backup/download/{kind}/{id}?expires=<unix seconds>&signature=<hex>`
 * works with no session or token until it expires. The signature is
 * HMAC-SHA256 over `${kind}:${backupId}:${expires}` with a subkey derived from
 * the app's auth secret (never the secret itself), so every instance with the
 * same AUTH_SECRET accepts the links any of them made, and rotating the
 * secret revokes every link at once. Who made a link is in the audit log
 * (`backup.download_url`); the download itself is recorded as actor
 * `signed-url` with the link's expiry.
 */

export const SIGNED_URL_MIN_SECONDS = 60;
export const SIGNED_URL_MAX_SECONDS = 24 * 60 * 60;
export const SIGNED_URL_DEFAULT_SECONDS = 60 * 60;

const SUBKEY_LABEL = "lifeboat/signed-download-url/v1";
const SIGNATURE_HEX = /^[0-9a-f]{64}$/;
const EXPIRES = /^\d{1,12}$/;

/** The secret server.ts resolves and puts where next-auth reads it. */
function authSecret(): string {
  const secret = process.env.NEXTAUTH_SECRET;
  if (!secret) throw new Error("NEXTAUTH_SECRET is not set: start Lifeboat through server.ts");
  return secret;
}

function signingKey(secret: string): Buffer {
  return createHmac("sha256", secret).update(SUBKEY_LABEL).digest();
}

export interface SignedDownload {
  kind: DownloadKind;
  backupId: string;
  /** Unix seconds. */
  expires: number;
}

export function signDownload({ kind, backupId, expires }: SignedDownload, secret: string = authSecret()): string {
  return createHmac("sha256", signingKey(secret)).update(`${kind}:${backupId}:${expires}`).digest("hex");
}

/** The absolute link and when it stops working. */
export function createSignedDownloadUrl(
  {
    baseUrl,
    kind,
    backupId,
    expiresInSeconds,
    now = new Date(),
  }: { baseUrl: string; kind: DownloadKind; backupId: string; expiresInSeconds: number; now?: Date },
  secret: string = authSecret(),
): { url: string; expiresAt: Date } {
  const expires = Math.floor(now.getTime() / 1000) + expiresInSeconds;
  const signature = signDownload({ kind, backupId, expires }, secret);
  const url = new URL(downloadPath(kind, backupId), `${baseUrl.replace(/\/$/, "")}/`);
  url.searchParams.set("expires", String(expires));
  url.searchParams.set("signature", signature);
  return { url: url.toString(), expiresAt: new Date(expires * 1000) };
}

/** Whether a request carries a signed link's parameters at all (then they are its only credential). */
export function hasSignature(query: URLSearchParams): boolean {
  return query.has("signature") || query.has("expires");
}

/**
 * Checks a link's `expires` and `signature`; a 403 AppError that says which
 * of the two is wrong. The signature is checked first, so an edited expiry
 * reads "not valid", never "expired"; the comparison takes constant time.
 */
export function verifySignedDownload(
  { kind, backupId, query, now = new Date() }: { kind: DownloadKind; backupId: string; query: URLSearchParams; now?: Date },
  secret: string = authSecret(),
): { expires: number } {
  const expiresText = query.get("expires") ?? "";
  const signature = (query.get("signature") ?? "").toLowerCase();
  const invalid = new AppError("forbidden", "This download link is not valid. Ask for a new one, or sign in to download the file.");
  if (!EXPIRES.test(expiresText) || !SIGNATURE_HEX.test(signature)) throw invalid;
  const expires = Number(expiresText);
  const expected = Buffer.from(signDownload({ kind, backupId, expires }, secret), "hex");
  if (!timingSafeEqual(expected, Buffer.from(signature, "hex"))) throw invalid;
  if (expires * 1000 <= now.getTime()) {
    throw new AppError("forbidden", `This download link has expired (at ${new Date(expires * 1000).toISOString()}). Ask for a new one.`);
  }
  return { expires };
}
