import { createReadStream, createWriteStream } from "node:fs";
import { rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";

import { createDecryptStream, parseAesKey, StreamCipherError } from "@/lib/crypto/stream-cipher";

import type { CliIo } from "./commands";
import { CliError, EXIT } from "./errors";

export interface DecryptFlags {
  input: string;
  output?: string;
  aesKey?: string;
}

/** `backup.tar.crypt` → `backup.tar`; any other name gets `.tar` added. */
export function decryptedName(input: string): string {
  return input.endsWith(".crypt") ? input.slice(0, -".crypt".length) : `${input}.tar`;
}

/**
 * `lifeboat backup decrypt`: turns what the backup-key endpoint sent with
 * `aes_key` (the LBAES1 format, docs/backup-key.md) back into the tar. The
 * plaintext goes to `<output>.part` and is renamed only once the last record
 * verified, so a wrong key, a changed byte or a cut-short file (exit 6)
 * never leaves a file that looks whole.
 */
export async function decrypt(io: CliIo, flags: DecryptFlags): Promise<void> {
  const aesKey = flags.aesKey ?? io.env.LIFEBOAT_AES_KEY;
  if (!aesKey) throw new CliError("Give the AES key the download was encrypted with: --aes-key <64 hex characters> or LIFEBOAT_AES_KEY.", EXIT.usage);
  try {
    parseAesKey(aesKey);
  } catch (error) {
    throw new CliError(error instanceof Error ? error.message : String(error), EXIT.usage);
  }
  const input = path.resolve(io.cwd, flags.input);
  const output = path.resolve(io.cwd, flags.output ?? decryptedName(flags.input));
  if (input === output) throw new CliError("--output must differ from the encrypted file.", EXIT.usage);
  const found = await stat(input).catch(() => null);
  if (!found?.isFile()) throw new CliError(`${flags.input} is not a file.`, EXIT.usage);

  const part = `${output}.part`;
  try {
    await pipeline(createReadStream(input), createDecryptStream(aesKey), createWriteStream(part, { mode: 0o600 }), { signal: io.signal });
  } catch (error) {
    await rm(part, { force: true });
    if (error instanceof StreamCipherError) throw new CliError(`${flags.input} could not be decrypted: ${error.message}`, EXIT.verification);
    throw error;
  }
  await rename(part, output);
  io.stderr.write(`Decrypted ${path.relative(io.cwd, input) || input} into ${path.relative(io.cwd, output) || output} (${(await stat(output)).size} bytes).\n`);
}
