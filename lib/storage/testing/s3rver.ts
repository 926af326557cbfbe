import { mkdtemp, rm } from "node:fs/promises";
import type { IncomingHttpHeaders } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import S3rver from "s3rver";
import type { S3StorageConfig } from "../types";

const BUCKET = "lifeboat-test";
const MIN_PART_SIZE = 5 * 1024 * 1024;

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

export interface S3rverHarness {
  config: S3StorageConfig;
  /** Every request the server received, for assertions about what the driver sends. */
  requests: readonly RecordedRequest[];
  close(): Promise<void>;
}

/**
 * s3rver on 127.0.0.1, a free port and a private temp directory, with one empty bucket.
 *
 * Known gaps besides the ones patched below: no ListParts, no
 * AbortMultipartUpload (405), suffix ranges and `bytes=0-0` are misread,
 * listings come in directory-walk order rather than byte order ("a/x" before
 * "a.txt"), and a ListObjectsV2 page that would be truncated fails with
 * InternalError because its continuation tokens use single DES, which
 * OpenSSL 3 (Node >= 17) lacks.
 */
export async function startS3rver(): Promise<S3rverHarness> {
  const directory = await mkdtemp(path.join(tmpdir(), "lifeboat-s3rver-"));
  const requests: RecordedRequest[] = [];
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: BUCKET }],
  });
  server.middleware.unshift(recordRequests(requests), verifyMultipartParts());

  let address;
  try {
    address = await server.run();
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }

  return {
    config: {
      driver: "s3",
      bucket: BUCKET,
      region: "us-east-1",
      endpoint: `http://127.0.0.1:${address.port}`,
      accessKeyId: "S3RVER", // s3rver's fixed credentials
      secretAccessKey: "S3RVER",
      forcePathStyle: true,
    },
    requests,
    async close() {
      const closing = server.close();
      // A test that fails mid-request may leave a connection open; shutting down must not wait for it.
      server.httpServer?.closeAllConnections();
      await closing;
      await rm(directory, { recursive: true, force: true });
    },
  };
}

function recordRequests(requests: RecordedRequest[]): S3rver.Middleware {
  return async (ctx, next) => {
    requests.push({ method: ctx.method, url: ctx.url, headers: { ...ctx.headers } });
    await next();
  };
}

interface TrackedPart {
  etag: string;
  size: number;
}

/**
 * s3rver assembles whatever part numbers CompleteMultipartUpload names
 * without checking etags, part order, minimum part size, or even that the
 * upload exists; real S3 rejects all of those (InvalidPart,
 * InvalidPartOrder, EntityTooSmall, NoSuchUpload). This middleware adds those
 * checks so the S3 driver's handling of them is exercised. It deliberately
 * does NOT add AbortMultipartUpload: the driver must cope with servers that
 * lack it.
 */
function verifyMultipartParts(): S3rver.Middleware {
  const uploads = new Map<string, Map<number, TrackedPart>>();

  return async (ctx, next) => {
    const uploadId = single(ctx.query.uploadId);
    const partNumber = Number(single(ctx.query.partNumber));

    if (ctx.method === "POST" && "uploads" in ctx.query) {
      await next();
      const created = /<UploadId>([^<]+)<\/UploadId>/.exec(String(ctx.body))?.[1];
      if (created) uploads.set(created, new Map());
      return;
    }
    if (uploadId === undefined) return next();

    const parts = uploads.get(uploadId);
    if (!parts) return respondWithError(ctx, 404, "NoSuchUpload", "The specified upload does not exist.");

    if (ctx.method === "PUT" && Number.isInteger(partNumber)) {
      await next();
      if (ctx.status === 200) {
        parts.set(partNumber, {
          etag: stripQuotes(ctx.response.get("ETag")),
          size: Number(ctx.headers["content-length"]),
        });
      }
      return;
    }

    if (ctx.method === "POST") {
      const xml = await readText(ctx.req);
      const problem = checkCompletion(xml, parts);
      if (problem) return respondWithError(ctx, 400, problem.code, problem.message);
      ctx.req = Readable.from([Buffer.from(xml)]); // s3rver parses the body we just consumed
      await next();
      if (ctx.status === 200) uploads.delete(uploadId);
      return;
    }

    return next();
  };
}

function checkCompletion(xml: string, uploaded: Map<number, TrackedPart>): { code: string; message: string } | null {
  const requested = [...xml.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map(([, inner = ""]) => ({
    partNumber: Number(/<PartNumber>(\d+)<\/PartNumber>/.exec(inner)?.[1]),
    etag: stripQuotes(/<ETag>([\s\S]*?)<\/ETag>/.exec(inner)?.[1] ?? ""),
  }));
  for (const [index, part] of requested.entries()) {
    const previous = requested[index - 1];
    if (previous && part.partNumber <= previous.partNumber) {
      return { code: "InvalidPartOrder", message: "The list of parts was not in ascending order." };
    }
    const stored = uploaded.get(part.partNumber);
    if (!stored || stored.etag !== part.etag) {
      return { code: "InvalidPart", message: `Part ${part.partNumber} could not be found or its etag does not match.` };
    }
    if (index < requested.length - 1 && stored.size < MIN_PART_SIZE) {
      return { code: "EntityTooSmall", message: "Your proposed upload is smaller than the minimum allowed size." };
    }
  }
  return null;
}

function respondWithError(ctx: S3rver.Context, status: number, code: string, message: string): void {
  ctx.status = status;
  ctx.type = "application/xml";
  ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
}

async function readText(stream: AsyncIterable<unknown>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function stripQuotes(etag: string): string {
  return etag.replaceAll("&quot;", "").replaceAll('"', "").trim();
}
