import type { IncomingMessage, ServerResponse } from "node:http";

import { getConfig } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import { callerOfNodeRequest, resolveActor } from "@/lib/http/actor";
import { sendJson } from "@/lib/http/node-router";
import type { NodeHandler } from "@/lib/http/node-router";
import { countUploadedBytes } from "@/lib/metrics/registry";
import { getStorage } from "@/lib/storage/instance";

import { checkPartRequest, storeUploadPart } from "./parts";

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Until the body has been read, any answer (401, 413, …) closes the
 * connection: otherwise Node would read and discard up to a whole part to
 * keep the connection alive. Once the body is consumed, keep-alive is fine.
 */
function closeUntilBodyRead(req: IncomingMessage, res: ServerResponse): void {
  res.setHeader("connection", "close");
  req.once("end", () => {
    if (!res.headersSent) res.removeHeader("connection");
  });
}

/**
 * `PUT /api/v1/uploads/{uploadId}/parts/{partNumber}` — one part of a file,
 * streamed from the socket through a SHA-256 check into the storage driver's
 * multipart upload. Plain Node, not a Next route: no proxy buffering or
 * 10 MB cut, no web-stream overhead, no formData().
 *
 * Timing: Node's `server.requestTimeout` (300 s by default) covers the whole
 * request, body included. Part sizes (lib/uploads/limits.ts) keep a part
 * far below that at any plausible speed, so the default stays as it is; a
 * client on a link too slow for one part in 300 s gets 408 and retries
 * that part, nothing more.
 */
export const serveUploadPart: NodeHandler = async (req, res, params) => {
  res.setHeader("cache-control", "no-store");
  closeUntilBodyRead(req, res);
  const [uploadId = "", partNumber = ""] = params;
  if (header(req, "transfer-encoding") && header(req, "content-length") === undefined) {
    throw new AppError("bad_request", "Send the part's length in Content-Length (chunked transfer encoding is not accepted).");
  }
  const actor = await resolveActor(callerOfNodeRequest(req));
  if (!actor) throw new AppError("unauthorized", "Sign in or send an API token to upload.");

  const db = getDb();
  const part = await checkPartRequest(db, {
    actor,
    productionOnly: getConfig().productionOnly,
    request: {
      uploadId,
      partNumber,
      contentLength: header(req, "content-length"),
      sha256: header(req, "x-part-sha256"),
    },
  });
  const stored = await storeUploadPart({ db, storage: getStorage() }, part, req);
  countUploadedBytes(part.upload.environment, stored.size);
  sendJson(res, 200, stored);
};
