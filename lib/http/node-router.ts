import type { IncomingMessage, ServerResponse } from "node:http";

import { AppError, errorToResponse } from "@/lib/errors";
import { logger } from "@/lib/logger";

/**
 * The byte paths (file uploads and downloads) are served by plain Node
 * handlers in front of Next.js: a route handler's web streams cost about 4×
 * the CPU per GiB, and Next's proxy layer buffers and truncates bodies over
 * 10 MB. These handlers check the session themselves, like every route.
 */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse, params: string[]) => Promise<void>;

export interface NodeRoute {
  methods: readonly string[];
  /** Matched against the path (no query string); capture groups become `params`. */
  pattern: RegExp;
  handler: NodeHandler;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(payload), ...headers });
  res.end(payload);
}

export async function sendError(res: ServerResponse, error: unknown, req: IncomingMessage): Promise<void> {
  if (res.headersSent) {
    // Too late for a status: cut the connection so the client sees a failed transfer, not a short file.
    if (!(error instanceof AppError)) logger.error({ err: error, url: req.url }, "byte path failed mid-response");
    res.destroy();
    return;
  }
  const response = errorToResponse(error, (err) => logger.error({ err, url: req.url, method: req.method }, "request failed"));
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (name !== "content-type" && name !== "content-length") headers[name] = value;
  });
  sendJson(res, response.status, await response.json(), headers);
}

/** Returns a function that serves a request if one of the routes matches it, and says whether it did. */
export function createNodeRouter(routes: readonly NodeRoute[]) {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    for (const route of routes) {
      const match = route.pattern.exec(path);
      if (!match) continue;
      if (!route.methods.includes(req.method ?? "GET")) {
        void sendError(
          res,
          new AppError("method_not_allowed", `${req.method} is not supported here; use ${route.methods.join(" or ")}.`, undefined, {
            allow: route.methods.join(", "),
          }),
          req,
        );
        return true;
      }
      route.handler(req, res, match.slice(1)).catch((error: unknown) => sendError(res, error, req));
      return true;
    }
    return false;
  };
}
