import { request as httpRequest } from "node:http";
import type { IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP } from "node:net";
import type { Readable } from "node:stream";
import { Transform } from "node:stream";
import type { TransformCallback } from "node:stream";

import { streamToStorage } from "@/lib/backups/engine/stream-to-storage";
import type { StoredObject } from "@/lib/backups/engine/stream-to-storage";
import { formatBytes } from "@/lib/format";
import type { Storage } from "@/lib/storage/types";

import { checkLiteralHost, guardedLookup, isInternalAddressError, NOT_PUBLIC, PRIVATE_NETWORKS_ADVICE } from "./address-guard";
import type { DestinationPolicy } from "./address-guard";
import { redactUrl } from "./remote-url";

/**
 * An import failure the person who asked for it can act on: the remote
 * server's answer, a name that does not resolve, a refused connection, a
 * file too big. The message names the URL in its redacted form only.
 */
export class ImportError extends Error {
  override readonly name = "ImportError";
}

export function isImportError(error: unknown): error is ImportError {
  return error instanceof ImportError;
}

export interface FetchLimits {
  /** Largest file accepted, by Content-Length up front and by counting as it streams. */
  maxBytes: number;
  /** From sending the request to the response's headers, per hop. */
  responseTimeoutMs: number;
  /** The longest the body may stall without a byte. */
  idleTimeoutMs: number;
  maxRedirects: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Credentials in the URL travel as basic auth, as curl sends them. */
function splitCredentials(url: URL): { target: URL; authorization: string | null } {
  if (!url.username && !url.password) return { target: url, authorization: null };
  const target = new URL(url);
  target.username = "";
  target.password = "";
  const pair = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  return { target, authorization: `Basic ${Buffer.from(pair).toString("base64")}` };
}

/** Why a request never got an answer, in words (the system error's code, or a wrapped one's `cause`). */
function explainFetchFailure(label: string, url: URL, error: unknown, timedOut: boolean, limits: FetchLimits): ImportError {
  const where = redactUrl(url);
  if (timedOut) return new ImportError(`${label} ${where}: ${url.host} did not answer within ${Math.round(limits.responseTimeoutMs / 1000)} seconds.`);
  const cause = (error as { cause?: unknown })?.cause ?? error;
  const code = (cause as NodeJS.ErrnoException | null)?.code;
  const detail = cause instanceof Error ? cause.message : String(cause);
  switch (code) {
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EAI_NONAME":
      return new ImportError(`${label} ${where}: the host name ${url.hostname} could not be resolved (DNS lookup failed).`);
    case "ECONNREFUSED":
      return new ImportError(`${label} ${where}: ${url.host} refused the connection (nothing listens there).`);
    case "ECONNRESET":
    case "EPIPE":
    case "UND_ERR_SOCKET":
      return new ImportError(`${label} ${where}: ${url.host} closed the connection before answering.`);
    case "ETIMEDOUT":
    case "EHOSTUNREACH":
    case "ENETUNREACH":
    case "UND_ERR_CONNECT_TIMEOUT":
      return new ImportError(`${label} ${where}: ${url.host} could not be reached (${code}).`);
    default:
      if (typeof code === "string" && /CERT|SSL|TLS/.test(code)) {
        return new ImportError(`${label} ${where}: the TLS connection to ${url.host} failed (${detail}).`);
      }
      return new ImportError(`${label} ${where} could not be fetched: ${detail}.`);
  }
}

interface OpenedResponse {
  body: Readable;
  /** Content-Length when the server sent one. */
  length: number | null;
}

/**
 * One GET with node:http(s) rather than fetch(): its `lookup` option is the
 * one place that sees the address a socket is about to connect to, which is
 * where the destination policy is enforced (lib/backups/import/address-guard.ts).
 * No agent: a pooled socket must never carry a request past that check.
 */
function get(target: URL, headers: Record<string, string>, policy: DestinationPolicy, signal: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const send = target.protocol === "https:" ? httpsRequest : httpRequest;
    const request = send({
      protocol: target.protocol,
      hostname: target.hostname.replace(/^\[|\]$/g, ""),
      port: target.port || undefined,
      path: `${target.pathname}${target.search}`,
      method: "GET",
      headers,
      agent: false,
      lookup: guardedLookup(policy),
      signal,
    });
    request.once("response", resolve);
    // `on`, not `once`: an error after the response (an abort mid-body) must not go unheard; the body reports it too.
    request.on("error", reject);
    request.end();
  });
}

/**
 * The reason a refused destination fails the import with: what was typed, or
 * that a redirect went somewhere internal — never the address a name resolved
 * to or where a redirect pointed, which would tell more than the person knows.
 */
function refusedDestination(label: string, original: URL, current: URL, hop: number): ImportError {
  const refused = `which Lifeboat does not fetch from. ${PRIVATE_NETWORKS_ADVICE}`;
  if (hop > 0) return new ImportError(`${label} ${redactUrl(original)} redirects to ${NOT_PUBLIC}, ${refused}`);
  if (isIP(current.hostname.replace(/^\[|\]$/g, "")) !== 0) {
    return new ImportError(`${label} points to ${NOT_PUBLIC} (${current.hostname}), ${refused}`);
  }
  return new ImportError(`${label} ${redactUrl(original)}: ${current.hostname} resolves to ${NOT_PUBLIC}, ${refused}`);
}

/**
 * GETs `url`, following up to `maxRedirects` redirects by hand: each hop is
 * checked to be http(s) again and to lead to an address `policy` allows, and
 * credentials go only to the origin they were given for. Anything but 2xx
 * fails with the status in the message.
 */
async function openRemote(label: string, url: URL, limits: FetchLimits, policy: DestinationPolicy, signal?: AbortSignal): Promise<OpenedResponse> {
  let current = url;
  let credentialsOrigin = url.username || url.password ? url.origin : null;
  for (let hop = 0; ; hop++) {
    const { target, authorization } = splitCredentials(current);
    const timeout = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      timeout.abort(new Error("response timeout"));
    }, limits.responseTimeoutMs);
    timer.unref();
    let response: IncomingMessage;
    try {
      checkLiteralHost(target, policy);
      response = await get(
        target,
        { ...(authorization ? { authorization } : {}), "user-agent": "Lifeboat backup import", "accept-encoding": "identity" },
        policy,
        signal ? AbortSignal.any([signal, timeout.signal]) : timeout.signal,
      );
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (isInternalAddressError(error)) throw refusedDestination(label, url, current, hop);
      throw explainFetchFailure(label, current, error, timedOut, limits);
    } finally {
      clearTimeout(timer);
    }

    const status = response.statusCode ?? 0;
    if (REDIRECTS.has(status)) {
      response.destroy();
      const location = response.headers.location;
      if (!location) throw new ImportError(`${label} ${redactUrl(current)}: the server answered HTTP ${status} without saying where to.`);
      if (hop >= limits.maxRedirects) throw new ImportError(`${label} ${redactUrl(url)}: more than ${limits.maxRedirects} redirects.`);
      const next = new URL(location, current);
      if (next.protocol !== "http:" && next.protocol !== "https:") {
        throw new ImportError(`${label} ${redactUrl(current)} redirects to a ${next.protocol} URL; only http and https are fetched.`);
      }
      // Credentials from the URL follow a redirect within their origin only, as browsers and curl do.
      if (credentialsOrigin && next.origin === credentialsOrigin && !next.username && !next.password) {
        next.username = current.username;
        next.password = current.password;
      } else if (next.origin !== credentialsOrigin) {
        credentialsOrigin = next.username || next.password ? next.origin : null;
      }
      current = next;
      continue;
    }
    if (status < 200 || status > 299) {
      response.destroy();
      const text = `${status}${response.statusMessage ? ` ${response.statusMessage}` : ""}`;
      throw new ImportError(`${label} ${redactUrl(current)}: the server answered HTTP ${text}.`);
    }
    const declared = response.headers["content-length"];
    const length = declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : null;
    if (length !== null && length > limits.maxBytes) {
      response.destroy();
      throw new ImportError(`${label} ${redactUrl(current)} is ${formatBytes(length)}, more than the ${formatBytes(limits.maxBytes)} an imported file may be.`);
    }
    return { body: response, length };
  }
}

/** Counts bytes against the limit and fails a body that stalls. */
class TransferGuard extends Transform {
  #bytes = 0;
  #timer: NodeJS.Timeout | null = null;

  constructor(
    readonly label: string,
    readonly url: URL,
    readonly limits: FetchLimits,
  ) {
    super();
    this.#arm();
  }

  #arm(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.destroy(
        new ImportError(
          `${this.label} ${redactUrl(this.url)}: no data arrived for ${Math.round(this.limits.idleTimeoutMs / 1000)} seconds after ${formatBytes(this.#bytes)}.`,
        ),
      );
    }, this.limits.idleTimeoutMs);
    this.#timer.unref();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#bytes += chunk.length;
    if (this.#bytes > this.limits.maxBytes) {
      return callback(new ImportError(`${this.label} ${redactUrl(this.url)} is larger than the ${formatBytes(this.limits.maxBytes)} an imported file may be.`));
    }
    this.#arm();
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.#timer) clearTimeout(this.#timer);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.#timer) clearTimeout(this.#timer);
    callback(error);
  }

  get bytes(): number {
    return this.#bytes;
  }
}

/**
 * Streams one remote file into storage under `key`, hashing it on the way:
 * never more in memory than the streams' buffers. Network failures become
 * ImportErrors; storage failures pass through as they are (internal).
 */
export async function fetchToStorage(input: {
  storage: Storage;
  key: string;
  url: string;
  /** How messages name this URL, e.g. "remote_url". */
  label: string;
  limits: FetchLimits;
  /** Which addresses may be fetched from; every redirect hop is held to it too. */
  policy: DestinationPolicy;
  onBytes?: (bytes: number) => void;
  /** Called once the response's headers are in, with its Content-Length if any. */
  onLength?: (bytes: number | null) => void;
  signal?: AbortSignal;
}): Promise<StoredObject> {
  const url = new URL(input.url);
  const { body, length } = await openRemote(input.label, url, input.limits, input.policy, input.signal);
  input.onLength?.(length);
  const guard = new TransferGuard(input.label, url, input.limits);
  let bodyError: unknown;
  body.once("error", (error) => (bodyError ??= error));
  try {
    const stored = await streamToStorage({
      storage: input.storage,
      key: input.key,
      source: body,
      transforms: [guard],
      onBytes: input.onBytes,
      signal: input.signal,
    });
    if (length !== null && stored.size !== length) {
      throw new ImportError(`${input.label} ${redactUrl(url)} ended after ${formatBytes(stored.size)} of the ${formatBytes(length)} its server announced.`);
    }
    return stored;
  } catch (error) {
    if (input.signal?.aborted) throw input.signal.reason;
    if (isImportError(error)) throw error;
    if (bodyError !== undefined) {
      const detail = bodyError instanceof Error ? ((bodyError.cause as Error | undefined)?.message ?? bodyError.message) : String(bodyError);
      throw new ImportError(`${input.label} ${redactUrl(url)}: the download broke off after ${formatBytes(guard.bytes)} (${detail}).`);
    }
    throw error;
  }
}
