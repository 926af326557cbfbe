// The baseline for bench/upload.ts: each PUT's body piped straight to a file,
// nothing else — no auth, no checksum, no database. Usage: node upload-plain-server.mjs <dir> <port>
import { createWriteStream } from "node:fs";
import { createServer } from "node:http";
import path from "node:path";
import { pipeline } from "node:stream/promises";

const [dir, port] = process.argv.slice(2);
if (!dir || !port) {
  console.error("usage: upload-plain-server.mjs <dir> <port>");
  process.exit(2);
}

createServer((req, res) => {
  if (req.method !== "PUT") {
    res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    return;
  }
  const file = path.join(dir, (req.url ?? "/").replace(/[^A-Za-z0-9.-]/g, "_"));
  pipeline(req, createWriteStream(file)).then(
    () => res.writeHead(200, { "content-type": "application/json", "content-length": "2" }).end("{}"),
    () => res.destroy(),
  );
}).listen(Number(port), "127.0.0.1");
