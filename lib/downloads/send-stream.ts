import type { ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

import { ByteCounter } from "./byte-counter";
import type { SendOutcome } from "./send-file";

/**
 * Streams `body` into the response with back-pressure (memory stays at a
 * chunk or two) and settles once the response has finished or been cut.
 * For drivers without files (S3); see send-file.ts for why files go another way.
 */
export async function sendStream(body: Readable, res: ServerResponse, length: number): Promise<SendOutcome> {
  const counter = new ByteCounter(length);
  // Listeners added before pipeline's own run first, so whichever side failed first is known.
  let storageError: unknown;
  let clientGone = false;
  const noteStorageFailure = (error: unknown) => {
    if (!clientGone) storageError ??= error;
  };
  body.once("error", noteStorageFailure);
  counter.once("error", noteStorageFailure);
  res.once("close", () => {
    if (!res.writableFinished && storageError === undefined) clientGone = true;
  });
  try {
    await pipeline(body, counter, res);
    return { bytesSent: counter.bytes, complete: true };
  } catch (error) {
    return { bytesSent: counter.bytes, complete: false, storageError: clientGone ? undefined : (storageError ?? error) };
  }
}
