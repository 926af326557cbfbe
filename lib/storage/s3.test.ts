import type { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { S3Storage } from "./s3";
import type { S3StorageConfig } from "./types";

// Behaviour s3rver cannot exercise, driven through a stand-in client.

const config: S3StorageConfig = { driver: "s3", bucket: "b", region: "us-east-1", forcePathStyle: true, prefix: "tenant" };

function stubClient(respond: (command: unknown, call: number) => unknown): { client: S3Client; commands: unknown[] } {
  const commands: unknown[] = [];
  const client = {
    async send(command: unknown) {
      commands.push(command);
      return respond(command, commands.length);
    },
  };
  return { client: client as unknown as S3Client, commands };
}

function awsError(name: string, httpStatusCode: number): Error {
  return Object.assign(new Error(name), { name, $metadata: { httpStatusCode } });
}

describe("S3Storage.list", () => {
  it("follows continuation tokens until the listing is complete", async () => {
    const when = new Date("2025-01-02T03:04:05Z");
    const pages = [
      {
        Contents: [
          { Key: "tenant/x/1", Size: 1, LastModified: when, ETag: '"e1"' },
          { Key: "tenant/x/2", Size: 2, LastModified: when },
        ],
        IsTruncated: true,
        NextContinuationToken: "page-2",
      },
      { Contents: [{ Key: "tenant/x/3", Size: 3, LastModified: when }], IsTruncated: false },
    ];
    const { client, commands } = stubClient((_command, call) => pages[call - 1]);
    const storage = new S3Storage({ ...config, listPageSize: 2 }, client);

    const listed = [];
    for await (const info of storage.list("x/")) listed.push(info);

    expect(listed).toEqual([
      { key: "x/1", size: 1, lastModified: when, etag: '"e1"' },
      { key: "x/2", size: 2, lastModified: when, etag: undefined },
      { key: "x/3", size: 3, lastModified: when, etag: undefined },
    ]);
    expect(commands).toHaveLength(2);
    const inputs = commands.map((command) => (command as ListObjectsV2Command).input);
    expect(inputs[0]).toMatchObject({ Bucket: "b", Prefix: "tenant/x/", MaxKeys: 2, ContinuationToken: undefined });
    expect(inputs[1]).toMatchObject({ Prefix: "tenant/x/", ContinuationToken: "page-2" });
  });
});

describe("S3Storage.abortMultipartUpload", () => {
  it.each([
    ["NotImplemented", 501],
    ["MethodNotAllowed", 405],
    ["NoSuchUpload", 404],
  ])("treats %s as done", async (name, status) => {
    const { client } = stubClient(() => {
      throw awsError(name, status);
    });
    await expect(new S3Storage(config, client).abortMultipartUpload({ key: "k", uploadId: "u" })).resolves.toBeUndefined();
  });

  it("still reports failures that mean the abort could have worked", async () => {
    const { client } = stubClient(() => {
      throw awsError("AccessDenied", 403);
    });
    await expect(new S3Storage(config, client).abortMultipartUpload({ key: "k", uploadId: "u" })).rejects.toMatchObject({
      name: "AccessDenied",
    });
  });
});

describe("S3Storage configuration", () => {
  it("refuses half a credential pair", () => {
    expect(() => new S3Storage({ ...config, accessKeyId: "only-the-id" })).toThrow(/accessKeyId and secretAccessKey/);
  });

  it("refuses a prefix that is not a valid key path", () => {
    expect(() => new S3Storage({ ...config, prefix: "a/../b" })).toThrow(expect.objectContaining({ code: "invalid_key" }));
  });
});
