// The baseline: the plainest Node server that streams one file, with 1 MiB
// reads. Plain JavaScript on purpose, so no loader or framework is in the way.
// Usage: node plain-file-server.mjs <file> <port>
import { createReadStream, statSync } from "node:fs";
import { createServer } from "node:http";
import { pipeline } from "node:stream";

const [file, port] = process.argv.slice(2);
if (!file || !port) {
  console.error("usage: node plain-file-server.mjs <file> <port>");
  process.exit(2);
}
const { size } = statSync(file);

const server = createServer((req, res) => {
  res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(size) });
  if (req.method === "HEAD") return void res.end();
  pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), res, () => {});
});
server.listen(Number(port), "127.0.0.1", () => console.log("ready"));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
