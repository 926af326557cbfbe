import { createDecipheriv, hkdfSync } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { fileURLToPath } from "node:url";

import { describe, expect, it } from "vitest";

import { createDecryptStream, createEncryptStream } from "./stream-cipher";

/*
 * The known-answer vectors of docs/backup-key.md, read from the document itself: if the code or the text
 * changes alone, this fails.
 */
const DOC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../docs/backup-key.md");

type Vector = { title: string; fields: Map<string, Buffer> };

/** The text blocks under "### Test vectors": `label hex…`, continuation lines indented, `#` comments. */
function readVectors(markdown: string): Vector[] {
  const start = markdown.indexOf("### Test vectors");
  if (start < 0) throw new Error("docs/backup-key.md has no Test vectors section");
  // Up to the next heading of the document (the blocks' own comments have a single #).
  const rest = markdown.slice(start + "### Test vectors".length);
  const end = rest.search(/^#{2,3} /m);
  const section = end >= 0 ? rest.slice(0, end) : rest;
  return [...section.matchAll(/```text\n([\s\S]*?)```/g)].map(([, block]) => {
    let title = "";
    const fields = new Map<string, string>();
    let current: string | undefined;
    for (const line of block!.split("\n")) {
      if (line.startsWith("#")) {
        title ||= line.slice(1).trim();
        continue;
      }
      const content = line.replace(/#.*$/, "");
      if (content.trim() === "") {
        // A label with nothing after it (an empty plaintext) still counts.
        const label = /^([a-z_0-9]+)\s*$/.exec(content)?.[1];
        if (label) fields.set((current = label), "");
        continue;
      }
      const labelled = /^([a-z_0-9]+)\s+(.*)$/.exec(content);
      if (labelled) fields.set((current = labelled[1]!), labelled[2]!);
      else if (current && /^\s/.test(content)) fields.set(current, `${fields.get(current)} ${content}`);
      else throw new Error(`Unreadable line in a test vector: ${line}`);
    }
    const bytes = new Map<string, Buffer>();
    for (const [label, text] of fields) {
      const hex = text.replace(/\s+/g, "");
      if (!/^([0-9a-f]{2})*$/.test(hex)) throw new Error(`${label} is not hex: ${text}`);
      bytes.set(label, Buffer.from(hex, "hex"));
    }
    return { title, fields: bytes };
  });
}

const vectors = readVectors(fs.readFileSync(DOC, "utf8"));

function field(vector: Vector, label: string): Buffer {
  const value = vector.fields.get(label);
  if (!value) throw new Error(`${vector.title}: no ${label}`);
  return value;
}

describe("LBAES1 test vectors (docs/backup-key.md)", () => {
  it("the document has both vectors, with every field a test needs", () => {
    expect(vectors.map((v) => v.title)).toEqual(["Vector 1: one final record", "Vector 2: an empty plaintext is one empty final record"]);
    for (const vector of vectors) {
      for (const label of ["aes_key", "salt", "iv", "plaintext", "encrypted"]) expect(vector.fields.has(label), `${vector.title}: ${label}`).toBe(true);
    }
    expect(field(vectors[0]!, "plaintext").toString("utf8")).toBe("Lifeboat LBAES1 test vector\n");
    expect(vectors[1]!.fields.get("plaintext")).toEqual(Buffer.alloc(0));
  });

  describe.each(vectors.map((vector) => [vector.title, vector] as const))("%s", (_title, vector) => {
    const aesKey = field(vector, "aes_key").toString("hex");
    const plaintext = vector.fields.get("plaintext")!;
    const encrypted = field(vector, "encrypted");

    it("decrypts to the plaintext with createDecryptStream", async () => {
      expect(await buffer(Readable.from([encrypted]).pipe(createDecryptStream(aesKey)))).toEqual(plaintext);
    });

    it("is what createEncryptStream writes with the vector's salt and iv", async () => {
      const draws = [field(vector, "salt"), field(vector, "iv")];
      const random = (bytes: number) => {
        const next = draws.shift()!;
        expect(next.length).toBe(bytes);
        return next;
      };
      const written = await buffer(Readable.from([plaintext]).pipe(createEncryptStream(aesKey, random)));
      expect(written.toString("hex")).toBe(encrypted.toString("hex"));
      expect(draws).toEqual([]);
    });

    // The document's own recipe, with Node's primitives and nothing of stream-cipher.ts: the text describes the bytes.
    it("follows the format as the document writes it", () => {
      const key = field(vector, "aes_key");
      const salt = field(vector, "salt");
      const iv = field(vector, "iv");
      const header = encrypted.subarray(0, 50);
      expect(header.subarray(0, 6).toString("ascii")).toBe("LBAES1");
      expect(header.subarray(6, 22)).toEqual(salt);
      expect(header.subarray(22, 34)).toEqual(iv);
      const dataKey = Buffer.from(hkdfSync("sha256", key, salt, "lifeboat LBAES1 data", 32));
      const check = Buffer.from(hkdfSync("sha256", key, salt, "lifeboat LBAES1 check", 16));
      expect(header.subarray(34, 50)).toEqual(check);
      if (vector.fields.has("key")) expect(dataKey).toEqual(field(vector, "key"));
      if (vector.fields.has("check")) expect(check).toEqual(field(vector, "check"));

      // One record, index 0, final: nonce 0 is the iv itself, aad 0 is u64be(0) | 01.
      const word = encrypted.readUInt32BE(50);
      expect(word >>> 31).toBe(1);
      const length = word & 0x7fff_ffff;
      expect(length).toBe(plaintext.length);
      const aad = Buffer.concat([Buffer.alloc(8), Buffer.from([1])]);
      if (vector.fields.has("nonce0")) expect(field(vector, "nonce0")).toEqual(iv);
      if (vector.fields.has("aad0")) expect(field(vector, "aad0")).toEqual(aad);
      const decipher = createDecipheriv("aes-256-gcm", dataKey, iv);
      decipher.setAAD(aad);
      decipher.setAuthTag(encrypted.subarray(54 + length, 54 + length + 16));
      const opened = Buffer.concat([decipher.update(encrypted.subarray(54, 54 + length)), decipher.final()]);
      expect(opened).toEqual(plaintext);
      expect(encrypted.length).toBe(50 + plaintext.length + 20);
    });
  });
});
