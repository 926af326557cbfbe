import { lookup as dnsLookup } from "node:dns";
import type { LookupAddress } from "node:dns";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { Server, ServerResponse } from "node:http";
import type { AddressInfo, LookupFunction } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { createStorage } from "@/lib/storage";
import type { Storage } from "@/lib/storage/types";

import { guardedLookup, isInternalAddress, isInternalAddressError, obviouslyInternalHost } from "./address-guard";
import type { DestinationPolicy } from "./address-guard";
import { fetchToStorage, isImportError } from "./fetch-to-storage";
import type { FetchLimits } from "./fetch-to-storage";

const ALLOW = "An administrator of the Lifeboat server can allow it with IMPORT_ALLOW_PRIVATE_NETWORKS=true.";
const LIMITS: FetchLimits = { maxBytes: 1024 * 1024, responseTimeoutMs: 5_000, idleTimeoutMs: 5_000, maxRedirects: 5 };

describe("isInternalAddress", () => {
  it.each([
    ["0.0.0.0", "unspecified"],
    ["0.1.2.3", "this network"],
    ["127.0.0.1", "loopback"],
    ["127.255.255.254", "loopback"],
    ["169.254.169.254", "link-local (cloud metadata)"],
    ["169.254.0.1", "link-local"],
    ["10.0.0.1", "private"],
    ["10.255.255.255", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.168.1.1", "private"],
    ["100.64.0.1", "carrier-grade NAT"],
    ["100.127.255.255", "carrier-grade NAT"],
    ["224.0.0.1", "multicast"],
    ["239.255.255.250", "multicast"],
    ["255.255.255.255", "broadcast"],
    ["240.0.0.1", "reserved"],
    ["::", "IPv6 unspecified"],
    ["::1", "IPv6 loopback"],
    ["[::1]", "IPv6 loopback in brackets"],
    ["fe80::1", "IPv6 link-local"],
    ["fe80::1%eth0", "IPv6 link-local with a zone"],
    ["febf:ffff::1", "IPv6 link-local, top of fe80::/10"],
    ["fd00:ec2::254", "IPv6 unique local (AWS metadata)"],
    ["fc00::1", "IPv6 unique local"],
    ["ff02::1", "IPv6 multicast"],
    ["::ffff:127.0.0.1", "IPv4-mapped loopback"],
    ["::ffff:7f00:1", "IPv4-mapped loopback, hex"],
    ["::ffff:169.254.169.254", "IPv4-mapped metadata"],
    ["::FFFF:A9FE:A9FE", "IPv4-mapped metadata, hex, upper case"],
    ["::ffff:10.1.2.3", "IPv4-mapped private"],
    ["::ffff:192.168.0.1", "IPv4-mapped private"],
    ["::ffff:172.16.0.1", "IPv4-mapped private"],
    ["::ffff:100.64.0.1", "IPv4-mapped carrier-grade NAT"],
    ["::ffff:0.0.0.0", "IPv4-mapped unspecified"],
    ["::ffff:224.0.0.1", "IPv4-mapped multicast"],
    ["::127.0.0.1", "IPv4-compatible loopback"],
    ["64:ff9b::a9fe:a9fe", "NAT64 of the metadata address"],
    ["not-an-address", "not an IP at all (fails closed)"],
  ])("%s is internal (%s)", (address) => {
    expect(isInternalAddress(address)).toBe(true);
  });

  it.each([
    "8.8.8.8",
    "1.1.1.1",
    "11.0.0.1",
    "100.63.255.255",
    "100.128.0.1",
    "169.253.255.255",
    "169.255.0.1",
    "172.15.255.255",
    "172.32.0.1",
    "192.167.255.255",
    "192.169.0.1",
    "223.255.255.255",
    "2606:4700:4700::1111",
    "2a00:1450:4001:80b::200e",
    "[2001:4860:4860::8888]",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
  ])("%s is public", (address) => {
    expect(isInternalAddress(address)).toBe(false);
  });
});

describe("obviouslyInternalHost", () => {
  it("names internal IP literals and localhost as the URL spells them, and leaves names and public addresses to the job", () => {
    const host = (url: string) => obviouslyInternalHost(new URL(url));
    expect(host("http://127.0.0.1:8080/db.gz")).toBe("127.0.0.1");
    expect(host("http://127.1/db.gz")).toBe("127.0.0.1");
    expect(host("http://2130706433/db.gz")).toBe("127.0.0.1");
    expect(host("http://0x7f.1/db.gz")).toBe("127.0.0.1");
    expect(host("http://[::1]/db.gz")).toBe("[::1]");
    expect(host("http://[::ffff:169.254.169.254]/")).toBe("[::ffff:a9fe:a9fe]");
    expect(host("http://169.254.169.254/latest/meta-data/")).toBe("169.254.169.254");
    expect(host("https://LOCALHOST./db.gz")).toBe("localhost.");
    expect(host("https://files.localhost/db.gz")).toBe("files.localhost");
    expect(host("https://files.example.com/db.gz")).toBeNull();
    expect(host("https://8.8.8.8/db.gz")).toBeNull();
    expect(host("https://[2606:4700:4700::1111]/db.gz")).toBeNull();
  });
});

/** A lookup answering from a fixed table, the way dns.lookup answers (one address, or all of them). */
function fakeLookup(table: Record<string, string[]>): LookupFunction {
  return (hostname, options, callback) => {
    const found = table[hostname];
    if (!found) return (dnsLookup as unknown as LookupFunction)(hostname, options, callback);
    const entries: LookupAddress[] = found.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
    if ((options as { all?: boolean }).all) return callback(null, entries);
    callback(null, entries[0]!.address, entries[0]!.family);
  };
}

describe("guardedLookup", () => {
  const resolve = (policy: DestinationPolicy, hostname: string, all: boolean) =>
    new Promise<{ error: unknown; address: unknown }>((done) =>
      guardedLookup(policy)(hostname, { all } as never, (error, address) => done({ error, address })),
    );
  const lookup = fakeLookup({ "public.test": ["93.184.216.34"], "mixed.test": ["93.184.216.34", "10.0.0.7"], "mapped.test": ["::ffff:169.254.169.254"] });

  it("refuses a name when any address it resolves to is internal, and says only the name", async () => {
    for (const all of [false, true]) {
      expect((await resolve({ allowPrivateNetworks: false, lookup }, "public.test", all)).error).toBeNull();
      const mapped = await resolve({ allowPrivateNetworks: false, lookup }, "mapped.test", all);
      expect(isInternalAddressError(mapped.error)).toBe(true);
      expect(String(mapped.error)).not.toContain("169.254");
      expect((await resolve({ allowPrivateNetworks: true, lookup }, "mapped.test", all)).error).toBeNull();
    }
    // The second address is only seen when every address is asked for, as net does when it tries each in turn.
    expect(isInternalAddressError((await resolve({ allowPrivateNetworks: false, lookup }, "mixed.test", true)).error)).toBe(true);
  });
});

/**
 * Two loopback servers: `allowed` (127.0.0.1), which a test policy exempts to
 * stand in for a public host, and `internal` (127.0.0.2), which stands for the
 * metadata service or an internal file server. Each counts its requests.
 */
async function startServer(host: string, handler: (url: string, res: ServerResponse) => void) {
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(req.url ?? "");
    handler(req.url ?? "", res);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    base: `http://${host}:${port}`,
    seen,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

describe("fetchToStorage holds every hop to the destination policy", () => {
  const SECRET_FILE = Buffer.from("the instance's credentials");
  let root: string;
  let storage: Storage;
  let internal: Awaited<ReturnType<typeof startServer>>;
  let allowed: Awaited<ReturnType<typeof startServer>>;
  let policyExemptingAllowed: DestinationPolicy;

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), "lifeboat-import-guard-"));
    storage = createStorage({ driver: "local", root });
    internal = await startServer("127.0.0.2", (_url, res) => res.end(SECRET_FILE));
    allowed = await startServer("127.0.0.1", (url, res) => {
      if (url === "/file") return res.end("public bytes");
      const location = url === "/to-literal" ? `http://127.0.0.2:${internal.port}/secret` : `http://metadata.test:${internal.port}/secret`;
      res.writeHead(302, { location });
      res.end();
    });
    policyExemptingAllowed = {
      allowPrivateNetworks: false,
      lookup: fakeLookup({ "metadata.test": ["127.0.0.2"] }),
      isInternal: (address) => address !== "127.0.0.1" && isInternalAddress(address),
    };
  });

  afterAll(async () => {
    await allowed?.close();
    await internal?.close();
    await rm(root, { recursive: true, force: true });
  });

  beforeEach(() => {
    allowed.seen.length = 0;
    internal.seen.length = 0;
  });

  const reasonOf = (url: string, policy: DestinationPolicy) =>
    fetchToStorage({ storage, key: `t/${Math.random()}`, url, label: "remote_url", limits: LIMITS, policy }).then(
      () => "fetched",
      (error: unknown) => (isImportError(error) ? error.message : `not an ImportError: ${String(error)}`),
    );

  it("refuses a loopback URL by default without a request reaching it, literal or by name", async () => {
    const policy = { allowPrivateNetworks: false };
    expect(await reasonOf(`${allowed.base}/file`, policy)).toBe(
      `remote_url points to a private or internal address (127.0.0.1), which Lifeboat does not fetch from. ${ALLOW}`,
    );
    expect(await reasonOf(`http://localhost:${allowed.port}/file`, policy)).toBe(
      `remote_url http://localhost:${allowed.port}/file: localhost resolves to a private or internal address, which Lifeboat does not fetch from. ${ALLOW}`,
    );
    expect(await reasonOf(`http://[::ffff:127.0.0.1]:${allowed.port}/file`, policy)).toMatch(
      /^remote_url points to a private or internal address \(\[::ffff:7f00:1\]\)/,
    );
    expect(allowed.seen).toHaveLength(0);
  });

  it("refuses a redirect from an allowed host to an internal address, by IP or by name, without a request reaching it", async () => {
    expect(await reasonOf(`${allowed.base}/file`, policyExemptingAllowed)).toBe("fetched");
    for (const hop of ["/to-literal", "/to-name"]) {
      expect(await reasonOf(`${allowed.base}${hop}?sig=x`, policyExemptingAllowed)).toBe(
        `remote_url ${allowed.base}${hop}?… redirects to a private or internal address, which Lifeboat does not fetch from. ${ALLOW}`,
      );
    }
    expect(allowed.seen).toEqual(["/file", "/to-literal?sig=x", "/to-name?sig=x"]);
    expect(internal.seen).toHaveLength(0);
  });

  it("fetches internal addresses, through redirects, when allowed", async () => {
    const stored = await fetchToStorage({
      storage,
      key: "t/allowed",
      url: `${allowed.base}/to-name`,
      label: "remote_url",
      limits: LIMITS,
      policy: { allowPrivateNetworks: true, lookup: fakeLookup({ "metadata.test": ["127.0.0.2"] }) },
    });
    expect(stored.size).toBe(SECRET_FILE.length);
    expect(internal.seen).toEqual(["/secret"]);
  });
});
