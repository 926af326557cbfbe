import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { createEncryptStream } from "@/lib/crypto/stream-cipher";

import { decryptedName } from "./decrypt";
import { main } from "./main";

const KEY = randomBytes(32).toString("hex");

function capture() {
  let stdout = "";
  let stderr = "";
  return {
    io: { stdout: { write: (text: string) => (stdout += text) }, stderr: { write: (text: string) => (stderr += text) } },
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
  };
}

describe("lifeboat backup decrypt", () => {
  let dir: string;
  let plain: Buffer;
  let encrypted: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "lifeboat-decrypt-"));
    // Several LBAES1 records (64 KiB each) and a partial last one.
    plain = randomBytes(3 * 65_536 + 1234);
    await writeFile(path.join(dir, "backup.tar"), plain);
    encrypted = path.join(dir, "backup.tar.crypt");
    await pipeline(createReadStream(path.join(dir, "backup.tar")), createEncryptStream(KEY), createWriteStream(encrypted));
    await rm(path.join(dir, "backup.tar"));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("turns what the backup-key endpoint sent back into the tar, with the key from the environment", async () => {
    const out = capture();
    const code = await main(["backup", "decrypt", "-i", "backup.tar.crypt"], { ...out.io, cwd: dir, env: { LIFEBOAT_AES_KEY: KEY } });
    expect(code).toBe(0);
    expect((await readFile(path.join(dir, "backup.tar"))).equals(plain)).toBe(true);
    expect(out.stderr).toContain("Decrypted backup.tar.crypt into backup.tar");
  });

  it("a wrong key or a cut-short file exits 6 and leaves no output behind", async () => {
    const wrong = capture();
    expect(await main(["backup", "decrypt", "-i", encrypted, "--aes-key", randomBytes(32).toString("hex")], { ...wrong.io, cwd: dir, env: {} })).toBe(6);
    expect(wrong.stderr).toMatch(/^lifeboat: .*backup\.tar\.crypt could not be decrypted: The AES key is wrong/m);

    await truncate(encrypted, 70_000);
    const cut = capture();
    expect(await main(["backup", "decrypt", "-i", encrypted, "-o", "out.tar", "--aes-key", KEY], { ...cut.io, cwd: dir, env: {} })).toBe(6);
    expect(cut.stderr).toMatch(/could not be decrypted/);
    expect((await readdir(dir)).sort()).toEqual(["backup.tar.crypt"]);
  });

  it("refuses a missing or malformed key and a missing file as usage errors (exit 2)", async () => {
    const none = capture();
    expect(await main(["backup", "decrypt", "-i", encrypted], { ...none.io, cwd: dir, env: {} })).toBe(2);
    expect(none.stderr).toContain("--aes-key");
    const short = capture();
    expect(await main(["backup", "decrypt", "-i", encrypted, "--aes-key", "abc"], { ...short.io, cwd: dir, env: {} })).toBe(2);
    expect(short.stderr).toContain("64 hexadecimal characters");
    const missing = capture();
    expect(await main(["backup", "decrypt", "-i", "nope.crypt", "--aes-key", KEY], { ...missing.io, cwd: dir, env: {} })).toBe(2);
    expect(missing.stderr).toContain("nope.crypt is not a file");
  });

  it("names the output after the input", () => {
    expect(decryptedName("backup.tar.crypt")).toBe("backup.tar");
    expect(decryptedName("download.bin")).toBe("download.bin.tar");
  });
});
