import { createHmac, timingSafeEqual } from "node:crypto";

import { downloadPath } from "@/lib/backups/serialize";
import { AppError } from "@/lib/errors";

import type { DownloadKind } from "./representation";

/*
 * Time-limited download links, like Cloud 66's "public URL to a backup
 * file": `/backup/download/{kind}/{id}?expires=<unix seconds>&maker=<who>&signature=<hex>`
 * works with no session or token until it expires — and only while whoever
 * made it could still download the file: `maker` names the session
 * (`s.<id>`) or API token (`t.<id>`) the link was made with, and every use
 * checks that it is still active and its owner still has the role
 * (lib/http/actor.ts resolveLinkMaker). Signing out or revoking the token
 * ends its links. The signature is HMAC-SHA256 over
 * `${kind}:${backupId}:${expires}:${maker}` with a subkey derived from
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
const MAKER = /^[st]\.[A-Za-z0-9_-]{1,64}$/;

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
  /** The session (`s.<id>`) or token (`t.<id>`) the link was made with. */
  maker: string;
}

/** How a link names what made it (see the top of this file). */
export function linkMaker(actor: { kind: "user" | "token"; sessionId?: string; tokenId?: string }): string {
  const maker = actor.kind === "token" ? `t.${actor.tokenId ?? ""}` : `s.${actor.sessionId ?? ""}`;
  if (!MAKER.test(maker)) throw new Error("a download link is made by a session or a token");
  return maker;
}

export function signDownload({ kind, backupId, expires, maker }: SignedDownload, secret: string = authSecret()): string {
  return createHmac("sha256", signingKey(secret)).update(`${kind}:${backupId}:${expires}:${maker}`).digest("hex");
}

/** The absolute link and when it stops working. */
export function createSignedDownloadUrl(
  {
    baseUrl,
    kind,
    backupId,
    expiresInSeconds,
    maker,
    now = new Date(),
  }: { baseUrl: string; kind: DownloadKind; backupId: string; expiresInSeconds: number; maker: string; now?: Date },
  secret: string = authSecret(),
): { url: string; expiresAt: Date } {
  const expires = Math.floor(now.getTime() / 1000) + expiresInSeconds;
  const signature = signDownload({ kind, backupId, expires, maker }, secret);
  const url = new URL(downloadPath(kind, backupId), `${baseUrl.replace(/\/$/, "")}/`);
  url.searchParams.set("expires", String(expires));
  url.searchParams.set("maker", maker);
  url.searchParams.set("signature", signature);
  return { url: url.toString(), expiresAt: new Date(expires * 1000) };
}

/** Whether a request carries a signed link's parameters at all (then they are its only credential). */
export function hasSignature(query: URLSearchParams): boolean {
  return query.has("signature") || query.has("expires") || query.has("maker");
}

/**
 * Checks a link's `expires` and `signature`; a 403 AppError that says which
 * of the two is wrong. The signature is checked first, so an edited expiry
 * reads "not valid", never "expired"; the comparison takes constant time.
 */
export function verifySignedDownload(
  { kind, backupId, query, now = new Date() }: { kind: DownloadKind; backupId: string; query: URLSearchParams; now?: Date },
  secret: string = authSecret(),
): { expires: number; maker: string } {
  const expiresText = query.get("expires") ?? "";
  const maker = query.get("maker") ?? "";
  const signature = (query.get("signature") ?? "").toLowerCase();
  const invalid = new AppError("forbidden", "This download link is not valid. Ask for a new one, or sign in to download the file.");
  if (!EXPIRES.test(expiresText) || !MAKER.test(maker) || !SIGNATURE_HEX.test(signature)) throw invalid;
  const expires = Number(expiresText);
  const expected = Buffer.from(signDownload({ kind, backupId, expires, maker }, secret), "hex");
  if (!timingSafeEqual(expected, Buffer.from(signature, "hex"))) throw invalid;
  if (expires * 1000 <= now.getTime()) {
    throw new AppError("forbidden", `This download link has expired (at ${new Date(expires * 1000).toISOString()}). Ask for a new one.`);
  }
  return { expires, maker };
}
