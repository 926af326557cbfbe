import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";

/** SHA-256 of a file or a byte range of it (`end` inclusive), read as a stream: memory does not grow with the size. */
export async function sha256File(file: string, range?: { start: number; end: number }): Promise<string> {
  const hash = createHash("sha256");
  const stream = createReadStream(file, { highWaterMark: 1024 * 1024, ...(range ?? {}) });
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
