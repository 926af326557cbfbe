import { Agent as HttpAgent, request as httpRequest } from "node:http";
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { Readable } from "node:stream";

import type { Connection } from "./config";
import { CliError, EXIT, exitCodeForStatus } from "./errors";

export const USER_AGENT = "lifeboat-cli/0.1";

export type Body = Buffer | string | (() => Readable);

export interface RawRequest {
  method: string;
  /** A path on the server (`/api/v1/…`) or an absolute URL. */
  path: string;
  headers?: Record<string, string>;
  body?: Body;
  signal?: AbortSignal;
}

/** Connection trouble: worth trying again, unlike an answer from the server. */
export class NetworkError extends CliError {
  constructor(message: string) {
    super(message, EXIT.network);
    this.name = "NetworkError";
  }
}

/** Whether trying the same request again could help. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof NetworkError) return true;
  if (error instanceof CliError && error.status !== undefined) {
    return error.status === 408 || error.status === 429 || error.status >= 500;
  }
  return false;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal!));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export class AbortedError extends CliError {
  constructor(message = "Interrupted.") {
    super(message, EXIT.unexpected);
    this.name = "AbortedError";
  }
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new AbortedError();
}

/** Exponential with jitter, capped: 0.5 s, 1 s, 2 s, … 15 s. */
export function backoffMs(attempt: number, baseMs = 500): number {
  return Math.min(15_000, baseMs * 2 ** attempt) * (0.75 + Math.random() * 0.5);
}

export interface RetryOptions {
  attempts?: number;
  signal?: AbortSignal;
  baseDelayMs?: number;
  onRetry?: (error: unknown, attempt: number) => void;
  /** How to wait between attempts (tests record the delays instead). */
  wait?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Runs `task` again after network trouble, 408, 429 and 5xx; any other failure is final at once. */
export async function withRetries<T>(task: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 6;
  for (let attempt = 0; ; attempt++) {
    try {
      return await task(attempt);
    } catch (error) {
      if (options.signal?.aborted) throw abortError(options.signal);
      if (!isRetryable(error) || attempt + 1 >= attempts) throw error;
      options.onRetry?.(error, attempt);
      const asked = error instanceof CliError ? (error.retryAfterMs ?? 0) : 0;
      await (options.wait ?? sleep)(Math.max(asked, backoffMs(attempt, options.baseDelayMs)), options.signal);
    }
  }
}

export async function readBody(res: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

/** The server's own message when it sent a JSON error, else the status line. */
export async function errorFromResponse(res: IncomingMessage, what: string): Promise<CliError> {
  const status = res.statusCode ?? 0;
  let message = `${what}: the server answered ${status}${res.statusMessage ? ` ${res.statusMessage}` : ""}.`;
  try {
    const text = (await readBody(res)).toString("utf8");
    const body = JSON.parse(text) as { error?: { message?: unknown } };
    if (typeof body.error?.message === "string" && body.error.message) message = body.error.message;
  } catch {
    // not JSON (a proxy's HTML page, or a HEAD): keep the status line
  }
  const retryAfter = Number(header(res.headers, "retry-after"));
  return new CliError(
    message,
    exitCodeForStatus(status),
    status,
    Number.isFinite(retryAfter) && retryAfter >= 0 ? Math.min(retryAfter, 300) * 1000 : undefined,
  );
}

export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The CLI's HTTP client: node:http rather than fetch, so a part can be
 * streamed from disk with an exact Content-Length, and one keep-alive agent
 * bounds the sockets to the concurrency asked for.
 */
export class LifeboatHttp {
  readonly #agent: HttpAgent;

  constructor(
    readonly connection: Connection,
    { maxSockets = 16 }: { maxSockets?: number } = {},
  ) {
    const options = { keepAlive: true, maxSockets, maxFreeSockets: Math.min(maxSockets, 256) };
    this.#agent = connection.url.startsWith("https:") ? new HttpsAgent(options) : new HttpAgent(options);
  }

  get baseUrl(): string {
    return this.connection.url;
  }

  url(path: string): string {
    return /^https?:\/\//.test(path) ? path : `${this.connection.url}${path}`;
  }

  /** Resolves with the response whatever its status; rejects with NetworkError when there is none. */
  request({ method, path, headers = {}, body, signal }: RawRequest): Promise<IncomingMessage> {
    const url = new URL(this.url(path));
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    const outgoing: Record<string, string> = {
      "user-agent": USER_AGENT,
      authorization: `Bearer ${this.connection.token}`,
      ...headers,
    };
    if (typeof body === "string" || Buffer.isBuffer(body)) outgoing["content-length"] = String(Buffer.byteLength(body));
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortError(signal));
      const req = send(url, { method, headers: outgoing, agent: this.#agent, signal });
      req.on("response", resolve);
      req.on("error", (error: NodeJS.ErrnoException) => {
        if (signal?.aborted) return reject(abortError(signal));
        if (error.code === "EMFILE" || error.code === "ENFILE") {
          // Not the network: this machine ran out of file descriptors for sockets. Retrying would not help.
          return reject(new CliError("Too many open files for this many parallel requests: lower --concurrency, or raise the limit (ulimit -n).", EXIT.usage));
        }
        reject(new NetworkError(`Cannot reach ${url.origin}: ${error.code ?? error.message}.`));
      });
      if (body === undefined) req.end();
      else if (typeof body === "function") {
        const source = body();
        source.on("error", (error) => req.destroy(error));
        source.pipe(req);
      } else req.end(body);
    });
  }

  /** A JSON call: the parsed body on 2xx, a CliError with the server's message otherwise. GETs retry. */
  async json<T>(method: string, path: string, body?: unknown, options: { signal?: AbortSignal; what?: string } = {}): Promise<{ status: number; body: T }> {
    const what = options.what ?? `${method} ${path}`;
    const once = async () => {
      const res = await this.request({
        method,
        path,
        signal: options.signal,
        headers: { accept: "application/json", ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const status = res.statusCode ?? 0;
      if (status < 200 || status >= 300) throw await errorFromResponse(res, what);
      const text = (await readBody(res)).toString("utf8");
      try {
        return { status, body: (text ? JSON.parse(text) : null) as T };
      } catch {
        throw new CliError(`${what}: the server's answer is not JSON. Is ${this.connection.url} a Lifeboat server?`, EXIT.unexpected, status);
      }
    };
    // GETs are safe to repeat; a few quick tries ride out a restart without making a typo'd URL hang for long.
    return method === "GET" ? withRetries(once, { signal: options.signal, attempts: 4 }) : once();
  }

  close(): void {
    this.#agent.destroy();
  }
}
