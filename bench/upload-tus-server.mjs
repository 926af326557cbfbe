// tus for bench/upload.ts: @tus/server with @tus/file-store, as its README
// sets it up. Usage: node upload-tus-server.mjs <dir> <port>
import { createServer } from "node:http";

import { FileStore } from "@tus/file-store";
import { Server } from "@tus/server";

const [dir, port] = process.argv.slice(2);
if (!dir || !port) {
  console.error("usage: upload-tus-server.mjs <dir> <port>");
  process.exit(2);
}

const tus = new Server({ path: "/files", datastore: new FileStore({ directory: dir }) });
createServer((req, res) => {
  if (req.url === "/health") {
    res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    return;
  }
  void tus.handle(req, res);
}).listen(Number(port), "127.0.0.1");
