import type { IncomingMessage, ServerResponse } from "node:http";

import { AppError } from "@/lib/errors";
import { logger } from "@/lib/logger";

import { stampClientAddress } from "./client-address";
import { sendError } from "./node-router";

/*
 * What every request meets first, before the byte paths or Next.js: the
 * response headers every answer carries, a 400 for a URL that cannot be
 * decoded (Next would answer 500), and the client address worked out once
 * (./client-address.ts).
 */

/**
 * Headers on every response. Pages replace the Content-Security-Policy with
 * their own, nonce-based one (proxy.ts); this default forbids everything,
 * which suits JSON and files. frame-ancestors and X-Frame-Options: nothing
 * of Lifeboat's may be framed, so no dialog can be clickjacked.
 */
export function securityHeaders({ https }: { https: boolean }): Record<string, string> {
  return {
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
    ...(https ? { "strict-transport-security": "max-age=31536000; includeSubDomains" } : {}),
  };
}

/** Whether every percent-escape of the path decodes (`/api/v1/backups/%ff` does not). */
export function isDecodablePath(url: string | undefined): boolean {
  const path = (url ?? "/").split("?")[0] ?? "/";
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}

export function createRequestListener({
  https,
  serveBytePath,
  serveNext,
}: {
  https: boolean;
  /** Serves the request if it is a byte path, and says whether it did. */
  serveBytePath: (req: IncomingMessage, res: ServerResponse) => boolean;
  serveNext: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
}) {
  const headers = Object.entries(securityHeaders({ https }));
  return (req: IncomingMessage, res: ServerResponse): void => {
    for (const [name, value] of headers) res.setHeader(name, value);
    if (!isDecodablePath(req.url)) {
      void sendError(res, new AppError("bad_request", "The address is not valid: it has a % that is not followed by two hexadecimal digits of UTF-8."), req);
      return;
    }
    stampClientAddress(req);
    if (serveBytePath(req, res)) return;
    serveNext(req, res).catch((err: unknown) => {
      logger.error({ err, url: req.url }, "unhandled request error");
      void sendError(res, err, req);
    });
  };
}
