/**
 * For bench/upload-stages.ts: a bare Node server that stores each PUT body
 * with one of the upload byte paths, and nothing else (no auth, no database).
 * An AsyncLocalStorage context is entered first, as Next.js does in the
 * console. Usage: node --import tsx upload-stage-server.ts <dir> <port> <stage>
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { createServer } from "node:http";
import path from "node:path";
import { pipeline } from "node:stream/promises";

import { ExactSizeFileWriter, ExactSizeStream } from "@/lib/storage/streams";
import { DigestStream } from "@/lib/uploads/digest";

const [dir, port, stage] = process.argv.slice(2);
if (!dir || !port || !stage) {
  console.error("usage: upload-stage-server.ts <dir> <port> <stage>");
  process.exit(2);
}
new AsyncLocalStorage().enterWith({});

let files = 0;
createServer((req, res) => {
  if (req.method !== "PUT") return void res.end("ok");
  const file = path.join(dir, `part-${files++}`);
  const size = Number(req.headers["content-length"]);
  const sha256 = String(req.headers["x-part-sha256"]);
  let storing: Promise<unknown>;
  switch (stage) {
    case "plain":
      storing = pipeline(req, createWriteStream(file));
      break;
    case "writer":
      storing = pipeline(req, new ExactSizeFileWriter(file, size));
      break;
    case "after": // lib/uploads/parts.ts into lib/storage/local.ts, as of this benchmark
      storing = pipeline(req, new DigestStream(sha256, { highWaterMark: 256 * 1024 }), new ExactSizeFileWriter(file, size));
      break;
    case "before-without-md5":
    case "before": {
      // The chain before 0277fe3: SHA-256, size check, an async generator (MD5 etag), WriteStream.
      const md5 = stage === "before" ? createHash("md5") : null;
      storing = pipeline(
        req,
        new DigestStream(sha256),
        new ExactSizeStream(size),
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            md5?.update(chunk);
            yield chunk;
          }
        },
        createWriteStream(file, { flush: true }),
      );
      break;
    }
    default:
      throw new Error(`unknown stage ${stage}`);
  }
  storing.then(
    () => res.end("{}"),
    (error: unknown) => {
      console.error(error);
      res.destroy();
    },
  );
}).listen(Number(port), "127.0.0.1");
