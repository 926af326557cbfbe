import { createHash, randomUUID } from "node:crypto";
import { lstat, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough, Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStorage, type Storage } from "@/lib/storage";
import { digestStream, patternSha256, patternSlice, patternStream, readAll, type Pattern } from "./testing/bytes";
import { createMemoryProbe } from "./testing/memory";
import { startS3rver, type S3rverHarness } from "./testing/s3rver";
import { until } from "@/lib/testing/until";

const MiB = 1024 * 1024;
const PART = 5 * MiB; // S3's minimum for every part but the last
const LARGE = 64 * MiB;
const MAX_GROWTH = 48 * MiB;

interface Fixture {
  storage: Storage;
  /** Bytes of `key`, while it is being written, that have reached the backend: on disk, or in requests the server received. */
  received(key: string): Promise<number>;
  /** How bytes leave for the backend: one by one to disk, in whole parts to S3. */
  unit: number;
  /** How many of `sent` bytes of a part declared `declared` long can have reached the backend before the part ends. */
  reachable(sent: number, declared: number): number;
  close(): Promise<void>;
}

/** The bytes on disk of objects and parts of `key` being written (tmp/ and multipart/, see local.ts). */
async function bytesOnDisk(root: string, key: string): Promise<number> {
  let total = 0;
  const sizeOf = async (file: string) => {
    const info = await lstat(file).catch(() => null);
    return info?.isFile() ? info.size : 0;
  };
  for (const name of await readdir(path.join(root, "tmp")).catch(() => [])) total += await sizeOf(path.join(root, "tmp", name));
  for (const id of await readdir(path.join(root, "multipart")).catch(() => [])) {
    const dir = path.join(root, "multipart", id);
    const manifest = await readFile(path.join(dir, "upload.json"), "utf8").catch(() => "{}");
    if ((JSON.parse(manifest) as { key?: string }).key !== key) continue;
    for (const name of await readdir(dir).catch(() => [])) if (/^part-\d+\./.test(name)) total += await sizeOf(path.join(dir, name));
  }
  return total;
}

/** The bodies the S3 server has been sent for `key`, by their Content-Length, counted when each request arrived. */
function bytesSentTo(server: S3rverHarness, key: string): number {
  return server.requests
    .filter((request) => request.method === "PUT" && decodeURIComponent(request.url.split("?")[0] ?? "").endsWith(`/${key}`))
    .reduce((sum, request) => sum + Number(request.headers["content-length"] ?? 0), 0);
}

const drivers: { name: string; setup: () => Promise<Fixture> }[] = [
  {
    name: "local",
    async setup() {
      const root = await mkdtemp(path.join(tmpdir(), "lifeboat-storage-"));
      return {
        storage: createStorage({ driver: "local", root }),
        received: (key) => bytesOnDisk(root, key),
        unit: 1,
        reachable: (sent, declared) => Math.min(sent, declared),
        close: () => rm(root, { recursive: true, force: true }),
      };
    },
  },
  {
    name: "s3",
    async setup() {
      const server = await startS3rver();
      // Small parts so lib-storage's multipart path runs at test sizes. (Pagination is covered in
      // s3.test.ts: s3rver cannot return a truncated listing on Node >= 17, see startS3rver.)
      const storage = createStorage({ ...server.config, putPartSize: PART });
      return {
        storage,
        received: async (key) => bytesSentTo(server, key),
        unit: PART,
        // The driver holds back the chunk that completes the declared size until the body ends (ExactSizeStream), and
        // the request, headers included, goes out with its first body bytes: until then the server has nothing.
        reachable: (sent, declared) => (sent >= declared ? 0 : sent),
        close: () => server.close(),
      };
    },
  },
];

function bytes(text: string): Readable {
  return Readable.from([Buffer.from(text)], { objectMode: false });
}

function md5(data: Buffer): string {
  return createHash("md5").update(data).digest("hex");
}

async function keysOf(listing: AsyncIterable<{ key: string }>): Promise<string[]> {
  const keys: string[] = [];
  for await (const { key } of listing) keys.push(key);
  return keys;
}

describe.each(drivers)("$name storage contract", ({ setup }) => {
  let fixture: Fixture;
  let storage: Storage;
  let prefix: string;

  beforeAll(async () => {
    fixture = await setup();
    storage = fixture.storage;
  });
  afterAll(async () => {
    await fixture?.close();
  });

  // Every test works under its own prefix, so listings never see another test's objects.
  const fresh = (): string => (prefix = `t-${randomUUID()}`);

  describe("whole objects", () => {
    it("round-trips put, stat, get, list and delete", async () => {
      const key = `${fresh()}/hello.txt`;
      const put = await storage.putObject(key, bytes("hello, lifeboat"));
      expect(put).toMatchObject({ key, size: 15 });
      expect(put.lastModified).toBeInstanceOf(Date);

      const info = await storage.stat(key);
      expect(info).toMatchObject({ key, size: 15 });
      expect((await readAll(await storage.getObject(key))).toString()).toBe("hello, lifeboat");
      expect(await keysOf(storage.list(`${prefix}/`))).toEqual([key]);

      await storage.deleteObject(key);
      expect(await storage.stat(key)).toBeNull();
      expect(await keysOf(storage.list(`${prefix}/`))).toEqual([]);
    });

    it("replaces an object that is put again", async () => {
      const key = `${fresh()}/file`;
      await storage.putObject(key, bytes("first version"));
      await storage.putObject(key, bytes("second"));
      expect((await readAll(await storage.getObject(key))).toString()).toBe("second");
      expect((await storage.stat(key))?.size).toBe(6);
    });

    it.each([
      ["within the first part", 1024],
      ["after a part has gone out", PART + 64 * 1024],
    ])("stores nothing, and reports the source's error, when the source fails %s", async (_label, sentBeforeFailing) => {
      const key = `${fresh()}/broken`;
      async function* failing(): AsyncGenerator<Buffer> {
        yield* patternStream({ size: sentBeforeFailing, seed: "doomed" });
        // The producer fails only once what could go out has reached the backend (a whole part, for S3).
        const reached = Math.floor(sentBeforeFailing / fixture.unit) * fixture.unit;
        await until(async () => (await fixture.received(key)) >= reached, 10_000, 10, `${reached} bytes at the backend`);
        throw new Error("producer crashed");
      }
      await expect(storage.putObject(key, Readable.from(failing(), { objectMode: false }))).rejects.toThrow("producer crashed");
      expect(await storage.stat(key)).toBeNull();
      expect(await keysOf(storage.list(`${prefix}/`))).toEqual([]);
    });

    it("stores an empty object", async () => {
      const key = `${fresh()}/empty`;
      expect((await storage.putObject(key, Readable.from([], { objectMode: false }))).size).toBe(0);
      expect((await readAll(await storage.getObject(key))).length).toBe(0);
    });

    it("reports a missing key as null from stat and not_found from getObject, and deletes it quietly", async () => {
      const key = `${fresh()}/missing`;
      expect(await storage.stat(key)).toBeNull();
      await expect(storage.getObject(key)).rejects.toMatchObject({ code: "not_found" });
      await expect(storage.getObject(key, { start: 0, end: 0 })).rejects.toMatchObject({ code: "not_found" });
      await expect(storage.deleteObject(key)).resolves.toBeUndefined();
    });

    it("lists by prefix in key order, with sizes", async () => {
      const base = fresh();
      const sizes: Record<string, number> = {
        [`${base}/b/2`]: 2,
        [`${base}/b/1`]: 1,
        [`${base}/a/x`]: 3,
        [`${base}/d.txt`]: 4,
        [`${base}/c`]: 5,
        [`${base}-sibling/z`]: 6,
      };
      for (const [key, size] of Object.entries(sizes)) await storage.putObject(key, bytes("x".repeat(size)));

      const all = [];
      for await (const info of storage.list(`${base}/`)) all.push(info);
      expect(all.map((info) => info.key)).toEqual([`${base}/a/x`, `${base}/b/1`, `${base}/b/2`, `${base}/c`, `${base}/d.txt`]);
      for (const info of all) {
        expect(info.size).toBe(sizes[info.key]);
        expect(info.lastModified).toBeInstanceOf(Date);
      }
      expect(await keysOf(storage.list(`${base}/b`))).toEqual([`${base}/b/1`, `${base}/b/2`]);
      expect(await keysOf(storage.list(`${base}/d`))).toEqual([`${base}/d.txt`]);
      expect(await keysOf(storage.list(base))).toHaveLength(6);
      expect(await keysOf(storage.list(`${base}/nothing-here/`))).toEqual([]);
    });
  });

  describe("ranged reads", () => {
    const pattern: Pattern = { size: 1000, seed: "ranges" };
    const whole = patternSlice([pattern], 0, pattern.size - 1);
    let key: string;

    beforeAll(async () => {
      key = `${fresh()}/ranged`;
      await storage.putObject(key, patternStream(pattern));
    });

    it.each([
      ["the first byte", 0, 0],
      ["a middle slice", 100, 199],
      ["the last byte", 999, 999],
      ["the whole object", 0, 999],
    ])("returns %s", async (_label, start, end) => {
      const got = await readAll(await storage.getObject(key, { start, end }));
      expect(got.length).toBe(end - start + 1);
      expect(got.equals(whole.subarray(start, end + 1))).toBe(true);
    });

    it.each([
      ["ends past the object", 0, 1000],
      ["starts past the object", 1000, 1000],
      ["is reversed", 10, 9],
      ["is negative", -1, 5],
      ["is fractional", 0.5, 5],
    ])("rejects a range that %s", async (_label, start, end) => {
      await expect(storage.getObject(key, { start, end })).rejects.toMatchObject({ code: "invalid_range" });
    });
  });

  describe("key validation", () => {
    const invalidKeys = ["", "/abs", "..", "a/../b", "a/..", "./a", "a\\b", "a\u0000b", "a//b", "dir/", "line\nbreak"];

    it.each(invalidKeys)("rejects %j everywhere", async (key) => {
      const rejected = { code: "invalid_key" };
      await expect(storage.putObject(key, bytes("x"))).rejects.toMatchObject(rejected);
      await expect(storage.getObject(key)).rejects.toMatchObject(rejected);
      await expect(storage.stat(key)).rejects.toMatchObject(rejected);
      await expect(storage.deleteObject(key)).rejects.toMatchObject(rejected);
      await expect(storage.createMultipartUpload(key)).rejects.toMatchObject(rejected);
    });

    it.each(["/abs", "../", "a/../", "a\\"])("rejects the list prefix %j", async (listPrefix) => {
      await expect(keysOf(storage.list(listPrefix))).rejects.toMatchObject({ code: "invalid_key" });
    });
  });

  describe("multipart uploads", () => {
    it("assembles parts uploaded out of order, using the part list we kept", async () => {
      const key = `${fresh()}/volume.tgz`;
      const patterns: Pattern[] = [
        { size: PART, seed: "part-1" },
        { size: PART, seed: "part-2" },
        { size: MiB + 123, seed: "part-3" },
      ];
      const { uploadId } = await storage.createMultipartUpload(key);

      const kept: { partNumber: number; etag: string }[] = []; // stands in for our database
      for (const partNumber of [3, 1, 2]) {
        const pattern = patterns[partNumber - 1]!;
        const result = await storage.uploadPart({ key, uploadId, partNumber, body: patternStream(pattern), size: pattern.size });
        expect(result.size).toBe(pattern.size);
        expect(result.etag).not.toBe("");
        kept.push({ partNumber, etag: result.etag });
      }
      kept.sort((a, b) => a.partNumber - b.partNumber);

      const total = patterns.reduce((sum, p) => sum + p.size, 0);
      const info = await storage.completeMultipartUpload({ key, uploadId, parts: kept });
      expect(info).toMatchObject({ key, size: total });
      expect(await storage.stat(key)).toMatchObject({ key, size: total });
      expect(await digestStream(await storage.getObject(key))).toEqual({ sha256: patternSha256(...patterns), size: total });

      // A range straddling the part 1/2 boundary proves the parts were joined in order.
      const start = PART - 10;
      const across = await readAll(await storage.getObject(key, { start, end: start + 19 }));
      expect(across.equals(patternSlice(patterns, start, start + 19))).toBe(true);
    });

    it("keeps the last upload of a part number, and rejects the superseded etag", async () => {
      const key = `${fresh()}/database.gz`;
      const first: Pattern = { size: PART, seed: "first attempt" };
      const second: Pattern = { size: PART, seed: "second attempt" };
      const tail: Pattern = { size: 4096, seed: "tail" };
      const { uploadId } = await storage.createMultipartUpload(key);

      const stale = await storage.uploadPart({ key, uploadId, partNumber: 1, body: patternStream(first), size: first.size });
      const part2 = await storage.uploadPart({ key, uploadId, partNumber: 2, body: patternStream(tail), size: tail.size });
      const part1 = await storage.uploadPart({ key, uploadId, partNumber: 1, body: patternStream(second), size: second.size });
      expect(part1.etag).not.toBe(stale.etag);

      await expect(
        storage.completeMultipartUpload({
          key,
          uploadId,
          parts: [
            { partNumber: 1, etag: stale.etag },
            { partNumber: 2, etag: part2.etag },
          ],
        }),
      ).rejects.toMatchObject({ code: "part_mismatch" });

      await storage.completeMultipartUpload({
        key,
        uploadId,
        parts: [
          { partNumber: 1, etag: part1.etag },
          { partNumber: 2, etag: part2.etag },
        ],
      });
      expect(await digestStream(await storage.getObject(key))).toEqual({ sha256: patternSha256(second, tail), size: PART + 4096 });
    });

    it("rejects completion with a wrong etag or a part that was never uploaded, and stays completable", async () => {
      const key = `${fresh()}/obj`;
      const { uploadId } = await storage.createMultipartUpload(key);
      const part = await storage.uploadPart({ key, uploadId, partNumber: 1, body: bytes("only part"), size: 9 });

      const wrongEtag = `"${"0".repeat(32)}"`;
      await expect(storage.completeMultipartUpload({ key, uploadId, parts: [{ partNumber: 1, etag: wrongEtag }] })).rejects.toMatchObject({
        code: "part_mismatch",
      });
      await expect(
        storage.completeMultipartUpload({
          key,
          uploadId,
          parts: [
            { partNumber: 1, etag: part.etag },
            { partNumber: 2, etag: part.etag },
          ],
        }),
      ).rejects.toMatchObject({ code: "part_mismatch" });
      expect(await storage.stat(key)).toBeNull();

      await storage.completeMultipartUpload({ key, uploadId, parts: [{ partNumber: 1, etag: part.etag }] });
      expect((await readAll(await storage.getObject(key))).toString()).toBe("only part");
    });

    it("rejects a part list that is empty or not ascending", async () => {
      const key = `${fresh()}/obj`;
      const { uploadId } = await storage.createMultipartUpload(key);
      const part = await storage.uploadPart({ key, uploadId, partNumber: 1, body: bytes("x"), size: 1 });
      await expect(storage.completeMultipartUpload({ key, uploadId, parts: [] })).rejects.toMatchObject({ code: "part_mismatch" });
      await expect(
        storage.completeMultipartUpload({
          key,
          uploadId,
          parts: [
            { partNumber: 1, etag: part.etag },
            { partNumber: 1, etag: part.etag },
          ],
        }),
      ).rejects.toMatchObject({ code: "part_mismatch" });
    });

    it.each([
      ["shorter than", [Buffer.alloc(99, 1)]],
      ["longer than", [Buffer.alloc(101, 1)]],
      // The declared size is reached exactly before the surplus arrives in a later chunk.
      ["longer (in a later chunk) than", [Buffer.alloc(100, 1), Buffer.alloc(5, 2)]],
    ])("rejects a part %s its declared size and stores nothing for it", async (_label, chunks) => {
      const key = `${fresh()}/obj`;
      const { uploadId } = await storage.createMultipartUpload(key);
      async function* slowly(): AsyncGenerator<Buffer> {
        let sent = 0;
        for (const chunk of chunks) {
          yield chunk;
          sent += chunk.length;
          // Once the backend has what was sent (or the driver stopped reading), a server has had its chance to act on it.
          const reached = fixture.reachable(sent, 100);
          await until(async () => body.destroyed || (await fixture.received(key)) >= reached, 10_000, 10, `${reached} bytes of the part at the backend`);
        }
      }
      const body: Readable = Readable.from(slowly(), { objectMode: false });

      await expect(storage.uploadPart({ key, uploadId, partNumber: 1, body, size: 100 })).rejects.toMatchObject({ code: "size_mismatch" });

      // Had any of the sent bytes been kept as part 1, one of these etags would complete.
      const sent = Buffer.concat(chunks);
      for (const candidate of [sent, sent.subarray(0, 100), sent.subarray(0, Math.min(sent.length, 99))]) {
        await expect(storage.completeMultipartUpload({ key, uploadId, parts: [{ partNumber: 1, etag: md5(candidate) }] })).rejects.toMatchObject({
          code: "part_mismatch",
        });
      }

      const good = await storage.uploadPart({ key, uploadId, partNumber: 1, body: bytes("y".repeat(100)), size: 100 });
      const info = await storage.completeMultipartUpload({ key, uploadId, parts: [{ partNumber: 1, etag: good.etag }] });
      expect(info.size).toBe(100);
      expect((await readAll(await storage.getObject(key))).toString()).toBe("y".repeat(100));
    });

    it("rejects part numbers outside 1..10000 and negative sizes", async () => {
      const key = `${fresh()}/obj`;
      const { uploadId } = await storage.createMultipartUpload(key);
      for (const partNumber of [0, 10_001, 1.5]) {
        await expect(storage.uploadPart({ key, uploadId, partNumber, body: bytes("x"), size: 1 })).rejects.toMatchObject({
          code: "invalid_argument",
        });
      }
      await expect(storage.uploadPart({ key, uploadId, partNumber: 1, body: bytes("x"), size: -1 })).rejects.toMatchObject({
        code: "invalid_argument",
      });
    });

    it("reports an unknown upload id as upload_not_found", async () => {
      const key = `${fresh()}/obj`;
      const uploadId = randomUUID();
      await expect(storage.uploadPart({ key, uploadId, partNumber: 1, body: bytes("x"), size: 1 })).rejects.toMatchObject({
        code: "upload_not_found",
      });
      await expect(storage.completeMultipartUpload({ key, uploadId, parts: [{ partNumber: 1, etag: md5(Buffer.from("x")) }] })).rejects.toMatchObject({
        code: "upload_not_found",
      });
    });

    it("aborts an upload, idempotently", async () => {
      const key = `${fresh()}/obj`;
      const { uploadId } = await storage.createMultipartUpload(key);
      await storage.uploadPart({ key, uploadId, partNumber: 1, body: bytes("abc"), size: 3 });
      await expect(storage.abortMultipartUpload({ key, uploadId })).resolves.toBeUndefined();
      await expect(storage.abortMultipartUpload({ key, uploadId })).resolves.toBeUndefined();
      await expect(storage.abortMultipartUpload({ key, uploadId: randomUUID() })).resolves.toBeUndefined();
      expect(await storage.stat(key)).toBeNull();
    });

    it("hands out distinct upload ids", async () => {
      const key = `${fresh()}/obj`;
      const ids = await Promise.all([1, 2, 3].map(() => storage.createMultipartUpload(key)));
      expect(new Set(ids.map(({ uploadId }) => uploadId)).size).toBe(3);
    });
  });

  describe("large objects stream in flat memory", () => {
    it(`round-trips ${LARGE / MiB} MiB through putObject`, async () => {
      const key = `${fresh()}/large-put`;
      const pattern: Pattern = { size: LARGE, seed: "large put" };
      const probe = createMemoryProbe();

      const info = await storage.putObject(key, patternStream(pattern, probe.every(4 * MiB)));
      expect(info.size).toBe(LARGE);
      const read = await digestStream(await storage.getObject(key), probe.every(4 * MiB));

      expect(read).toEqual({ sha256: patternSha256(pattern), size: LARGE });
      expect(probe.peakLiveGrowth).toBeLessThan(MAX_GROWTH);
      expect(probe.peakRssGrowth).toBeLessThan(MAX_GROWTH);
    });

    it(`round-trips ${LARGE / MiB} MiB through a multipart upload`, async () => {
      const key = `${fresh()}/large-multipart`;
      const patterns: Pattern[] = [0, 1, 2, 3].map((i) => ({ size: LARGE / 4, seed: `large part ${i}` }));
      const probe = createMemoryProbe();

      const { uploadId } = await storage.createMultipartUpload(key);
      const parts = [];
      for (const [index, pattern] of patterns.entries()) {
        const body = patternStream(pattern, probe.every(4 * MiB));
        const { etag } = await storage.uploadPart({ key, uploadId, partNumber: index + 1, body, size: pattern.size });
        parts.push({ partNumber: index + 1, etag });
      }
      await storage.completeMultipartUpload({ key, uploadId, parts });
      const read = await digestStream(await storage.getObject(key), probe.every(4 * MiB));

      expect(read).toEqual({ sha256: patternSha256(...patterns), size: LARGE });
      expect(probe.peakLiveGrowth).toBeLessThan(MAX_GROWTH);
      expect(probe.peakRssGrowth).toBeLessThan(MAX_GROWTH);
    });
  });
});

describe("local driver specifics", () => {
  let root: string;
  let storage: Storage;

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), "lifeboat-storage-local-"));
    storage = createStorage({ driver: "local", root });
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const uploadDirEntries = (uploadId: string) => readdir(path.join(root, "multipart", uploadId));

  it("keeps objects under root/objects and leaves no temp files behind", async () => {
    await storage.putObject("a/b/c.txt", bytes("hi"));
    expect(await readdir(path.join(root, "objects", "a", "b"))).toEqual(["c.txt"]);
    expect(await readdir(path.join(root, "tmp"))).toEqual([]);
  });

  it("removes the multipart state on abort and on completion", async () => {
    const aborted = await storage.createMultipartUpload("m/aborted");
    await storage.uploadPart({ key: "m/aborted", uploadId: aborted.uploadId, partNumber: 1, body: bytes("abc"), size: 3 });
    expect(await uploadDirEntries(aborted.uploadId)).toContain("part-00001");
    await storage.abortMultipartUpload({ key: "m/aborted", uploadId: aborted.uploadId });
    await expect(uploadDirEntries(aborted.uploadId)).rejects.toMatchObject({ code: "ENOENT" });
    await expect(storage.uploadPart({ key: "m/aborted", uploadId: aborted.uploadId, partNumber: 2, body: bytes("x"), size: 1 })).rejects.toMatchObject({
      code: "upload_not_found",
    });

    const done = await storage.createMultipartUpload("m/done");
    const part = await storage.uploadPart({ key: "m/done", uploadId: done.uploadId, partNumber: 1, body: bytes("abc"), size: 3 });
    await storage.completeMultipartUpload({ key: "m/done", uploadId: done.uploadId, parts: [{ partNumber: 1, etag: part.etag }] });
    await expect(uploadDirEntries(done.uploadId)).rejects.toMatchObject({ code: "ENOENT" });
    expect(await readdir(path.join(root, "tmp"))).toEqual([]);
  });

  it("leaves no file at all for a part with the wrong size", async () => {
    const { uploadId } = await storage.createMultipartUpload("m/short");
    const body = Readable.from([Buffer.alloc(10)], { objectMode: false });
    await expect(storage.uploadPart({ key: "m/short", uploadId, partNumber: 1, body, size: 11 })).rejects.toMatchObject({
      code: "size_mismatch",
    });
    expect(await uploadDirEntries(uploadId)).toEqual(["upload.json"]);
  });

  it("binds an upload id to its key and never treats the id as a path", async () => {
    const { uploadId } = await storage.createMultipartUpload("m/owner");
    await expect(storage.uploadPart({ key: "m/other", uploadId, partNumber: 1, body: bytes("x"), size: 1 })).rejects.toMatchObject({
      code: "upload_not_found",
    });
    await expect(storage.uploadPart({ key: "m/owner", uploadId: "../../objects", partNumber: 1, body: bytes("x"), size: 1 })).rejects.toMatchObject({
      code: "upload_not_found",
    });
  });

  it("lists in byte order even where that differs from directory order", async () => {
    // S3 order, which s3rver (walking its directories) does not reproduce: "." < "/" < "0".
    for (const key of ["order/a0", "order/a/x", "order/a.txt"]) await storage.putObject(key, bytes("x"));
    expect(await keysOf(storage.list("order/"))).toEqual(["order/a.txt", "order/a/x", "order/a0"]);
  });

  it("prunes directories emptied by a delete", async () => {
    await storage.putObject("prune/deep/x", bytes("x"));
    await storage.deleteObject("prune/deep/x");
    await expect(readdir(path.join(root, "objects", "prune"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("refuses a key that would need a file and a directory at the same path", async () => {
    await storage.putObject("clash/file", bytes("x"));
    await expect(storage.putObject("clash/file/child", bytes("y"))).rejects.toMatchObject({ code: "invalid_key" });
    expect(await readdir(path.join(root, "tmp"))).toEqual([]);
  });
});

describe("s3 driver specifics", () => {
  let server: S3rverHarness;

  beforeAll(async () => {
    server = await startS3rver();
  });
  afterAll(async () => {
    await server?.close();
  });

  it("sends plain bodies: no checksum trailers, no aws-chunked encoding", async () => {
    const storage = createStorage(server.config);
    const key = "checksums/obj";
    const { uploadId } = await storage.createMultipartUpload(key);
    const part = await storage.uploadPart({ key, uploadId, partNumber: 1, body: bytes("part body"), size: 9 });
    await storage.completeMultipartUpload({ key, uploadId, parts: [{ partNumber: 1, etag: part.etag }] });
    await storage.putObject("checksums/put", bytes("put body"));

    const writes = server.requests.filter((request) => request.method === "PUT" && request.url.includes("checksums"));
    expect(writes.length).toBeGreaterThanOrEqual(2);
    for (const { headers } of writes) {
      expect(Object.keys(headers).filter((name) => name.startsWith("x-amz-checksum") || name === "x-amz-trailer")).toEqual([]);
      expect(headers["content-encoding"] ?? "").not.toContain("aws-chunked");
      expect(headers["x-amz-content-sha256"] ?? "").not.toMatch(/^STREAMING-/);
    }
    expect((await readAll(await storage.getObject(key))).toString()).toBe("part body");
  });

  // A producer such as pg_dump must not be left blocked on a full pipe (lib-storage takes care of it today).
  it("releases the source when the server rejects a putObject", async () => {
    const storage = createStorage({ ...server.config, bucket: "no-such-bucket", putPartSize: PART });
    // More than a part and never ended: Upload starts a multipart upload that the server refuses
    // while the producer is still "running".
    const source = new PassThrough();
    source.write(Buffer.alloc(PART + 1));
    await expect(storage.putObject("k", source)).rejects.toMatchObject({ name: "NoSuchBucket" });
    expect(source.destroyed).toBe(true);
  });

  it("keeps every key under the configured prefix", async () => {
    const scoped = createStorage({ ...server.config, prefix: "/tenant-a/" });
    const unscoped = createStorage(server.config);
    await scoped.putObject("backups/1/database.gz", bytes("db"));

    expect(await unscoped.stat("tenant-a/backups/1/database.gz")).toMatchObject({ size: 2 });
    expect(await unscoped.stat("backups/1/database.gz")).toBeNull();
    expect(await keysOf(scoped.list(""))).toEqual(["backups/1/database.gz"]);
    await scoped.deleteObject("backups/1/database.gz");
    expect(await unscoped.stat("tenant-a/backups/1/database.gz")).toBeNull();
  });
});
