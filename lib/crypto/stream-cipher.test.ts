import { createHash, randomBytes } from "node:crypto";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";

import { describe, expect, it } from "vitest";

import { createDecryptStream, createEncryptStream, encryptedSize, HEADER_BYTES, parseAesKey, RECORD_BYTES, StreamCipherError } from "./stream-cipher";

const KEY = randomBytes(32).toString("hex");

/** Feeds `data` in chunks of awkward sizes, so records straddle chunk boundaries both ways. */
function chunked(data: Buffer, sizes = [1, 7, 1000, 65_537, 3, 200_000]): Readable {
  const chunks: Buffer[] = [];
  for (let offset = 0, i = 0; offset < data.length; i++) {
    const size = sizes[i % sizes.length]!;
    chunks.push(data.subarray(offset, offset + size));
    offset += size;
  }
  return Readable.from(chunks, { objectMode: false });
}

async function run(source: Readable, transform: NodeJS.ReadWriteStream): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(
    source,
    transform,
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        out.push(chunk);
        callback();
      },
    }),
  );
  return Buffer.concat(out);
}

const encrypt = (data: Buffer, key = KEY) => run(chunked(data), createEncryptStream(key));
const decrypt = (data: Buffer, key = KEY) => run(chunked(data, [5, 70_000, 13, 4096]), createDecryptStream(key));

async function decryptError(data: Buffer, key = KEY): Promise<unknown> {
  return decrypt(data, key).then(
    () => null,
    (error: unknown) => error,
  );
}

describe("LBAES1 stream cipher", () => {
  it("round-trips several MiB byte for byte, at the size encryptedSize predicts", async () => {
    const plain = randomBytes(5 * 1024 * 1024 + 12_345);
    const sealed = await encrypt(plain);
    expect(sealed.subarray(0, 6).toString("ascii")).toBe("LBAES1");
    expect(sealed.length).toBe(encryptedSize(plain.length));
    // Not the plaintext in disguise: no 64-byte run of it survives.
    expect(sealed.includes(plain.subarray(1000, 1064))).toBe(false);
    const opened = await decrypt(sealed);
    expect(createHash("sha256").update(opened).digest("hex")).toBe(createHash("sha256").update(plain).digest("hex"));
    expect(opened.equals(plain)).toBe(true);
  });

  it("round-trips the edges: nothing at all, and exactly one record", async () => {
    for (const size of [0, 1, RECORD_BYTES, RECORD_BYTES + 1, 2 * RECORD_BYTES]) {
      const plain = randomBytes(size);
      const sealed = await encrypt(plain);
      expect(sealed.length).toBe(encryptedSize(size));
      expect((await decrypt(sealed)).equals(plain)).toBe(true);
    }
  });

  it("gives two encryptions of the same bytes different ciphertexts (fresh salt and IV)", async () => {
    const plain = randomBytes(1000);
    const [a, b] = await Promise.all([encrypt(plain), encrypt(plain)]);
    expect(a.equals(b)).toBe(false);
  });

  it("detects a cut-off file, wherever it is cut", async () => {
    const sealed = await encrypt(randomBytes(3 * RECORD_BYTES + 100));
    const recordBytes = 4 + RECORD_BYTES + 16;
    // Inside the header, exactly after whole records (the kind a naive format would accept), inside a record.
    for (const cut of [HEADER_BYTES - 1, HEADER_BYTES, HEADER_BYTES + recordBytes, HEADER_BYTES + 2 * recordBytes, sealed.length - 1]) {
      const error = await decryptError(sealed.subarray(0, cut));
      expect(error, `cut at ${cut}`).toBeInstanceOf(StreamCipherError);
      expect((error as Error).message).toMatch(/cut short/);
    }
  });

  it("detects a wrong key before releasing anything", async () => {
    const sealed = await encrypt(randomBytes(100_000));
    const error = await decryptError(sealed, randomBytes(32).toString("hex"));
    expect(error).toBeInstanceOf(StreamCipherError);
    expect((error as Error).message).toMatch(/AES key is wrong/);
  });

  it("detects one altered byte anywhere in a record, and records dropped, swapped or appended", async () => {
    const sealed = await encrypt(randomBytes(3 * RECORD_BYTES));
    const recordBytes = 4 + RECORD_BYTES + 16;
    for (const at of [HEADER_BYTES + 10, HEADER_BYTES + recordBytes + 5000, sealed.length - 1]) {
      const tampered = Buffer.from(sealed);
      tampered[at]! ^= 0x01;
      const error = await decryptError(tampered);
      expect(error, `byte ${at}`).toBeInstanceOf(StreamCipherError);
      expect((error as Error).message).toMatch(/altered or damaged/);
    }
    // Flipping a record's final flag is caught by its AAD.
    const flagged = Buffer.from(sealed);
    flagged[HEADER_BYTES]! ^= 0x80;
    expect(((await decryptError(flagged)) as Error).message).toMatch(/altered or damaged/);

    const header = sealed.subarray(0, HEADER_BYTES);
    const record = (i: number) => sealed.subarray(HEADER_BYTES + i * recordBytes, HEADER_BYTES + (i + 1) * recordBytes);
    const swapped = Buffer.concat([header, record(1), record(0), record(2)]);
    expect(((await decryptError(swapped)) as Error).message).toMatch(/altered or damaged/);
    const dropped = Buffer.concat([header, record(0), record(2)]);
    expect(((await decryptError(dropped)) as Error).message).toMatch(/altered or damaged/);
    const appended = Buffer.concat([sealed, record(0)]);
    expect(((await decryptError(appended)) as Error).message).toMatch(/after its last record/);
  });

  it("refuses keys that are not 64 hex characters, and files that are not LBAES1", async () => {
    expect(() => parseAesKey("secret")).toThrow(/64 hexadecimal characters/);
    expect(() => createEncryptStream(KEY.slice(2))).toThrow(StreamCipherError);
    expect(parseAesKey(KEY.toUpperCase()).toString("hex")).toBe(KEY);
    const error = await decryptError(Buffer.concat([Buffer.from("PK\x03\x04"), randomBytes(200)]));
    expect((error as Error).message).toMatch(/not a Lifeboat encrypted backup/);
  });
});
