import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, timingSafeEqual } from "node:crypto";
import { Transform } from "node:stream";
import type { TransformCallback } from "node:stream";

/*
 * The encrypted form of a backup-key download (docs/backup-key.md, format
 * "LBAES1"): AES-256-GCM in records of 64 KiB, so it streams in constant
 * memory both ways, every record is authenticated before a byte of it is
 * released, and a cut-off, reordered, extended or altered file fails to
 * decrypt instead of yielding a plausible-looking short backup.
 *
 *   header  = "LBAES1" | salt (16) | iv (12) | key check (16)      (50 bytes)
 *   key     = HKDF-SHA256(aes_key, salt, "lifeboat LBAES1 data", 32 bytes)
 *   check   = HKDF-SHA256(aes_key, salt, "lifeboat LBAES1 check", 16 bytes)
 *   record  = u32be(final << 31 | length) | ciphertext (length) | tag (16)
 *   nonce i = iv XOR (4 zero bytes | u64be(i))
 *   aad i   = u64be(i) | u8(final)
 *
 * The key is the seed's "256-bit AES key as hex": it already has full
 * entropy, so HKDF (not a password hash) turns it into a fresh key per file;
 * the random salt means no two files ever share a key, so nonces cannot
 * repeat. The last record, and only the last, has the final flag; the AAD
 * binds each record to its place and to that flag.
 */

export const MAGIC = Buffer.from("LBAES1", "ascii");
const SALT_BYTES = 16;
const IV_BYTES = 12;
const CHECK_BYTES = 16;
const TAG_BYTES = 16;
const LENGTH_BYTES = 4;
export const HEADER_BYTES = MAGIC.length + SALT_BYTES + IV_BYTES + CHECK_BYTES;
/** Plaintext bytes per record as written. */
export const RECORD_BYTES = 64 * 1024;
/** The largest record a reader accepts: bounds the memory one record may take. */
export const MAX_RECORD_BYTES = 1024 * 1024;
const FINAL_FLAG = 0x8000_0000;
const DATA_INFO = "lifeboat LBAES1 data";
const CHECK_INFO = "lifeboat LBAES1 check";

/** A key or file problem, worded for the person running the command. */
export class StreamCipherError extends Error {
  override readonly name = "StreamCipherError";
}

/** "64 hexadecimal characters": the seed's `<aes-key-as-hex>`, e.g. from `openssl rand -hex 32`. */
export const AES_KEY_HEX = /^[0-9a-fA-F]{64}$/;

export function parseAesKey(aesKey: string): Buffer {
  if (!AES_KEY_HEX.test(aesKey)) {
    throw new StreamCipherError("The AES key must be 64 hexadecimal characters (a 256-bit key), e.g. the output of `openssl rand -hex 32`.");
  }
  return Buffer.from(aesKey, "hex");
}

function derive(key: Buffer, salt: Buffer): { dataKey: Buffer; check: Buffer } {
  return {
    dataKey: Buffer.from(hkdfSync("sha256", key, salt, DATA_INFO, 32)),
    check: Buffer.from(hkdfSync("sha256", key, salt, CHECK_INFO, CHECK_BYTES)),
  };
}

function nonce(iv: Buffer, index: number): Buffer {
  const n = Buffer.from(iv);
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(index));
  for (let i = 0; i < 8; i++) n[IV_BYTES - 8 + i]! ^= counter[i]!;
  return n;
}

function aad(index: number, final: boolean): Buffer {
  const a = Buffer.alloc(9);
  a.writeBigUInt64BE(BigInt(index));
  a[8] = final ? 1 : 0;
  return a;
}

/** The encrypted size of `plaintextBytes`: header, then one record per 64 KiB (at least one). */
export function encryptedSize(plaintextBytes: number): number {
  const records = Math.max(1, Math.ceil(plaintextBytes / RECORD_BYTES));
  return HEADER_BYTES + plaintextBytes + records * (LENGTH_BYTES + TAG_BYTES);
}

/** Buffers kept as they came; bytes are copied only when a record is taken out. */
class ByteQueue {
  #chunks: Buffer[] = [];
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
  }

  /** The first four bytes as a big-endian u32, left in place (length ≥ 4). */
  peekUInt32BE(): number {
    const head = this.#chunks[0]!;
    if (head.length >= 4) return head.readUInt32BE(0);
    const word = Buffer.alloc(4);
    let filled = 0;
    for (const chunk of this.#chunks) {
      filled += chunk.copy(word, filled, 0, Math.min(chunk.length, 4 - filled));
      if (filled === 4) break;
    }
    return word.readUInt32BE(0);
  }

  /** The first `n` bytes (n ≤ length), removed. */
  take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const head = this.#chunks[0]!;
      const use = Math.min(head.length, n - filled);
      head.copy(out, filled, 0, use);
      filled += use;
      if (use === head.length) this.#chunks.shift();
      else this.#chunks[0] = head.subarray(use);
    }
    this.#length -= n;
    return out;
  }
}

/**
 * Encrypts a stream with `aesKey` (64 hex characters). A record is written
 * only once a byte after it has arrived, so the last one can carry the
 * final flag; memory stays at about two records.
 *
 * `random` draws the salt, then the iv. Only the known-answer test of
 * docs/backup-key.md passes one (fixed bytes); everything else must leave it
 * to crypto.randomBytes, or files would share keys and nonces.
 */
export function createEncryptStream(aesKey: string, random: (bytes: number) => Buffer = randomBytes): Transform {
  const key = parseAesKey(aesKey);
  const salt = random(SALT_BYTES);
  const iv = random(IV_BYTES);
  const { dataKey, check } = derive(key, salt);
  const pending = new ByteQueue();
  let index = 0;

  const seal = (plaintext: Buffer, final: boolean): Buffer => {
    const cipher = createCipheriv("aes-256-gcm", dataKey, nonce(iv, index));
    cipher.setAAD(aad(index, final));
    const word = Buffer.alloc(LENGTH_BYTES);
    word.writeUInt32BE(((final ? FINAL_FLAG : 0) | plaintext.length) >>> 0);
    const ciphertext = cipher.update(plaintext);
    cipher.final();
    index++;
    return Buffer.concat([word, ciphertext, cipher.getAuthTag()]);
  };

  return new Transform({
    construct(callback) {
      this.push(Buffer.concat([MAGIC, salt, iv, check]));
      callback();
    },
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      pending.push(chunk);
      const out: Buffer[] = [];
      while (pending.length > RECORD_BYTES) out.push(seal(pending.take(RECORD_BYTES), false));
      callback(null, out.length > 0 ? Buffer.concat(out) : undefined);
    },
    flush(callback: TransformCallback) {
      callback(null, seal(pending.take(pending.length), true));
    },
  });
}

/**
 * Decrypts what createEncryptStream wrote. Plaintext leaves only after its
 * record's tag checked out; the stream fails with a StreamCipherError on a
 * wrong key, an altered byte, a missing or extra record, or a cut-off file.
 */
export function createDecryptStream(aesKey: string): Transform {
  const key = parseAesKey(aesKey);
  const input = new ByteQueue();
  let dataKey: Buffer | null = null;
  let iv: Buffer | null = null;
  let index = 0;
  let finished = false;

  const readHeader = (): void => {
    const header = input.take(HEADER_BYTES);
    if (!header.subarray(0, MAGIC.length).equals(MAGIC)) {
      throw new StreamCipherError("This is not a Lifeboat encrypted backup (it does not start with LBAES1).");
    }
    const salt = header.subarray(MAGIC.length, MAGIC.length + SALT_BYTES);
    iv = header.subarray(MAGIC.length + SALT_BYTES, MAGIC.length + SALT_BYTES + IV_BYTES);
    const derived = derive(key, salt);
    if (!timingSafeEqual(derived.check, header.subarray(HEADER_BYTES - CHECK_BYTES))) {
      throw new StreamCipherError("The AES key is wrong: it is not the key this backup was encrypted with (or the file's header is damaged).");
    }
    dataKey = derived.dataKey;
  };

  /** One whole record if it is there; null while more bytes are needed. */
  const openRecord = (): Buffer | null => {
    if (input.length < LENGTH_BYTES) return null;
    const value = input.peekUInt32BE();
    const final = (value & FINAL_FLAG) !== 0;
    const length = value & ~FINAL_FLAG;
    if (length > MAX_RECORD_BYTES) {
      throw new StreamCipherError(`Record ${index} of the encrypted backup claims ${length} bytes, more than any writer uses: the file is damaged.`);
    }
    if (input.length < LENGTH_BYTES + length + TAG_BYTES) return null;
    input.take(LENGTH_BYTES);
    const ciphertext = input.take(length);
    const tag = input.take(TAG_BYTES);
    const decipher = createDecipheriv("aes-256-gcm", dataKey!, nonce(iv!, index));
    decipher.setAAD(aad(index, final));
    decipher.setAuthTag(tag);
    const plaintext = decipher.update(ciphertext);
    try {
      decipher.final();
    } catch {
      throw new StreamCipherError(`The encrypted backup was altered or damaged: record ${index} does not authenticate with this key.`);
    }
    index++;
    if (final) finished = true;
    return plaintext;
  };

  const drain = (stream: Transform): void => {
    if (!dataKey) {
      if (input.length < HEADER_BYTES) return;
      readHeader();
    }
    for (;;) {
      if (finished) {
        if (input.length > 0) throw new StreamCipherError("The encrypted backup has data after its last record: it was altered.");
        return;
      }
      const plaintext = openRecord();
      if (!plaintext) return;
      if (plaintext.length > 0) stream.push(plaintext);
    }
  };

  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      input.push(chunk);
      try {
        drain(this);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback: TransformCallback) {
      if (!finished) {
        return callback(
          new StreamCipherError(
            dataKey
              ? "The encrypted backup is cut short: its last record is missing (an interrupted download?)."
              : "The encrypted backup is cut short: it ends inside its header.",
          ),
        );
      }
      callback();
    },
  });
}
