import { createHash } from "node:crypto";
import { request } from "node:http";
import type { IncomingHttpHeaders } from "node:http";

export interface DownloadResult {
  status: number;
  headers: IncomingHttpHeaders;
  bytes: number;
  seconds: number;
  /** Only when asked for: hashing at GB/s would make the client the bottleneck of a timed run. */
  sha256?: string;
}

/** GETs `url` and throws the body away, counting it; a new connection every time. */
export function download(url: string, options: { headers?: Record<string, string>; hash?: boolean; method?: string } = {}): Promise<DownloadResult> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const hash = options.hash ? createHash("sha256") : undefined;
    const req = request(url, { method: options.method ?? "GET", headers: options.headers, agent: false }, (res) => {
      let bytes = 0;
      res.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
        hash?.update(chunk);
      });
      res.on("error", reject);
      res.on("end", () => {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes, seconds, sha256: hash?.digest("hex") });
      });
    });
    req.on("error", reject);
    req.end();
  });
}

/** Polls until `url` answers 200, failing early if `alive()` turns false. */
export async function waitUntilReady(url: string, alive: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!alive()) throw new Error(`the server exited before ${url} answered`);
    try {
      const reply = await download(url);
      if (reply.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
