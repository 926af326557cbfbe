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

import { guardedLookup, isInternalAddress, isInternalAddressError, obviouslyInternalHost, ownAddresses } from "./address-guard";
import type { DestinationPolicy } from "./address-guard";
import { fetchToStorage, isImportError } from "./fetch-to-storage";
import type { FetchLimits } from "./fetch-to-storage";

const ALLOW =
  "which Lifeboat does not fetch from. Use a URL on the public internet, or ask an administrator of the Lifeboat server to allow such addresses with IMPORT_ALLOW_PRIVATE_NETWORKS=true.";
const LIMITS: FetchLimits = { maxBytes: 1024 * 1024, responseTimeoutMs: 5_000, idleTimeoutMs: 5_000, maxRedirects: 5 };

/** Teredo: 2001:0:<server>:<flags>:<port>:<client XOR ffff:ffff>, as RFC 4380 lays it out. */
function teredo(server: string, client: string): string {
  const groups = (v4: string, xor = 0) => {
    const [a, b, c, d] = v4.split(".").map(Number) as [number, number, number, number];
    return [((a << 8) | b) ^ xor, ((c << 8) | d) ^ xor].map((g) => g.toString(16)).join(":");
  };
  return `2001:0:${groups(server)}:8000:63bf:${groups(client, 0xffff)}`;
}

/** Nobody's address on this machine: the own-address check is tested on its own, below. */
const NOT_OWN: string[] = [];

describe("isInternalAddress: every address that is not another host's public unicast address", () => {
  it.each([
    // IPv4, each IANA special-purpose block at both of its edges
    ["0.0.0.0", "this network, unspecified"],
    ["0.255.255.255", "this network, top"],
    ["10.0.0.0", "private 10/8"],
    ["10.255.255.255", "private 10/8, top"],
    ["100.64.0.0", "carrier-grade NAT"],
    ["100.127.255.255", "carrier-grade NAT, top"],
    ["127.0.0.0", "loopback"],
    ["127.0.0.1", "loopback"],
    ["127.255.255.255", "loopback, top"],
    ["169.254.0.0", "link-local"],
    ["169.254.169.254", "link-local: cloud metadata"],
    ["169.254.255.255", "link-local, top"],
    ["172.16.0.0", "private 172.16/12"],
    ["172.31.255.255", "private 172.16/12, top"],
    ["192.0.0.0", "IETF protocol assignments 192.0.0/24"],
    ["192.0.0.9", "192.0.0/24: PCP anycast"],
    ["192.0.0.255", "192.0.0/24, top"],
    ["192.0.2.0", "TEST-NET-1"],
    ["192.0.2.255", "TEST-NET-1, top"],
    ["192.31.196.0", "AS112"],
    ["192.52.193.255", "AMT"],
    ["192.88.99.0", "6to4 relay anycast"],
    ["192.88.99.255", "6to4 relay anycast, top"],
    ["192.168.0.0", "private 192.168/16"],
    ["192.168.255.255", "private 192.168/16, top"],
    ["192.175.48.1", "AS112"],
    ["198.18.0.0", "benchmarking 198.18/15"],
    ["198.19.255.255", "benchmarking 198.18/15, top"],
    ["198.51.100.0", "TEST-NET-2"],
    ["198.51.100.255", "TEST-NET-2, top"],
    ["203.0.113.0", "TEST-NET-3"],
    ["203.0.113.255", "TEST-NET-3, top"],
    ["224.0.0.0", "multicast"],
    ["239.255.255.255", "multicast, top"],
    ["240.0.0.0", "reserved 240/4"],
    ["255.255.255.254", "reserved 240/4, top"],
    ["255.255.255.255", "limited broadcast"],
    // IPv6 special-purpose blocks
    ["::", "unspecified"],
    ["::1", "loopback"],
    ["[::1]", "loopback in brackets"],
    ["::ffff:0:0", "IPv4-mapped 0.0.0.0"],
    ["::ffff:127.0.0.1", "IPv4-mapped loopback"],
    ["::ffff:7f00:1", "IPv4-mapped loopback, hex"],
    ["::FFFF:A9FE:A9FE", "IPv4-mapped metadata, hex, upper case"],
    ["::ffff:10.1.2.3", "IPv4-mapped private"],
    ["::ffff:100.64.0.1", "IPv4-mapped carrier-grade NAT"],
    ["::ffff:198.18.0.1", "IPv4-mapped benchmarking"],
    ["::ffff:203.0.113.7", "IPv4-mapped TEST-NET-3"],
    ["::ffff:224.0.0.1", "IPv4-mapped multicast"],
    ["::ffff:255.255.255.255", "IPv4-mapped broadcast"],
    ["::127.0.0.1", "IPv4-compatible (deprecated)"],
    ["::8.8.8.8", "IPv4-compatible, even of a public address"],
    ["::808:808", "IPv4-compatible, hex"],
    ["::ffff:0:8.8.8.8", "IPv4-translated (SIIT)"],
    ["64:ff9b::a9fe:a9fe", "NAT64 of the metadata address"],
    ["64:ff9b::127.0.0.1", "NAT64 of loopback"],
    ["64:ff9b::a00:1", "NAT64 of 10.0.0.1"],
    ["64:ff9b::c000:200", "NAT64 of TEST-NET-1"],
    ["64:ff9b::", "NAT64 of 0.0.0.0"],
    ["64:ff9b:0:0:1::808:808", "beside the NAT64 /96, not inside it"],
    ["64:ff9b:1::", "local-use NAT64 64:ff9b:1::/48"],
    ["64:ff9b:1::808:808", "local-use NAT64, even embedding a public address"],
    ["64:ff9b:1:ffff:ffff:ffff:ffff:ffff", "local-use NAT64, top"],
    ["100::", "discard-only 100::/64"],
    ["100::ffff:ffff:ffff:ffff", "discard-only, top"],
    ["100:0:0:1::1", "dummy prefix 100:0:0:1::/64"],
    ["2001:1::1", "IETF protocol assignments 2001::/23: PCP anycast"],
    ["2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", "2001::/23, top"],
    ["2001:2::", "benchmarking 2001:2::/48"],
    ["2001:2:0:ffff:ffff:ffff:ffff:ffff", "benchmarking, top"],
    ["2001:3::1", "AMT"],
    ["2001:4:112::1", "AS112-v6"],
    ["2001:10::1", "ORCHID (deprecated)"],
    ["2001:20::1", "ORCHIDv2"],
    ["2001:2f:ffff:ffff:ffff:ffff:ffff:ffff", "ORCHIDv2, top"],
    ["2001:30::1", "drone remote ID"],
    ["2001:db8::", "documentation 2001:db8::/32"],
    ["2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "documentation, top"],
    ["2620:4f:8000::1", "AS112 direct delegation"],
    ["3fff::", "documentation 3fff::/20"],
    ["3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", "documentation 3fff::/20, top"],
    ["5f00::1", "segment routing SIDs"],
    ["fc00::", "unique local"],
    ["fd00:ec2::254", "unique local: AWS metadata"],
    ["fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "unique local, top"],
    ["fe80::", "link-local"],
    ["fe80::1%eth0", "link-local with a zone"],
    ["febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "link-local, top"],
    ["fec0::1", "site-local (deprecated)"],
    ["feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "site-local, top"],
    ["ff00::", "multicast"],
    ["ff02::1", "multicast, all nodes"],
    ["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "multicast, top"],
    ["1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "below 2000::/3: not global unicast"],
    ["4000::1", "above 2000::/3: not global unicast"],
    ["2606:4700:4700::1111%eth0", "a zone on anything makes it scoped, not public"],
    // 6to4 and Teredo, by the IPv4 address they carry
    ["2002:7f00:1::", "6to4 of 127.0.0.1"],
    ["2002:a9fe:a9fe::1", "6to4 of the metadata address"],
    ["2002:c0a8:101:1::1", "6to4 of 192.168.1.1"],
    ["2002::", "6to4 of 0.0.0.0"],
    [teredo("169.254.169.254", "8.8.8.8"), "Teredo whose server is the metadata address"],
    [teredo("65.54.227.120", "169.254.169.254"), "Teredo whose client is the metadata address (XOR-ed)"],
    [teredo("65.54.227.120", "192.0.2.45"), "Teredo, RFC 4380's example: a TEST-NET-1 client"],
    [teredo("65.54.227.120", "10.0.0.1"), "Teredo whose client is private"],
    // not addresses at all: fails closed
    ["not-an-address", "a name"],
    ["", "empty"],
    ["127.1", "shorthand IPv4 (URLs spell it out; a lookup never answers it)"],
    ["::ffff:999.0.0.1", "not an address"],
  ])("%s is refused (%s)", (address) => {
    expect(isInternalAddress(address, NOT_OWN)).toBe(true);
  });

  it.each([
    ["1.0.0.0", "just past 0/8"],
    ["1.1.1.1", "public"],
    ["8.8.8.8", "public"],
    ["9.255.255.255", "just below 10/8"],
    ["11.0.0.0", "just past 10/8"],
    ["100.63.255.255", "just below 100.64/10"],
    ["100.128.0.0", "just past 100.64/10"],
    ["126.255.255.255", "just below 127/8"],
    ["128.0.0.0", "just past 127/8"],
    ["169.253.255.255", "just below 169.254/16"],
    ["169.255.0.0", "just past 169.254/16"],
    ["172.15.255.255", "just below 172.16/12"],
    ["172.32.0.0", "just past 172.16/12"],
    ["191.255.255.255", "just below 192.0.0/24"],
    ["192.0.1.0", "between 192.0.0/24 and 192.0.2/24"],
    ["192.0.3.0", "just past 192.0.2/24"],
    ["192.88.98.255", "just below 192.88.99/24"],
    ["192.88.100.0", "just past 192.88.99/24"],
    ["192.167.255.255", "just below 192.168/16"],
    ["192.169.0.0", "just past 192.168/16"],
    ["198.17.255.255", "just below 198.18/15"],
    ["198.20.0.0", "just past 198.18/15"],
    ["198.51.99.255", "just below 198.51.100/24"],
    ["198.51.101.0", "just past 198.51.100/24"],
    ["203.0.112.255", "just below 203.0.113/24"],
    ["203.0.114.0", "just past 203.0.113/24"],
    ["223.255.255.255", "just below multicast"],
    ["2606:4700:4700::1111", "public IPv6"],
    ["2a00:1450:4001:80b::200e", "public IPv6"],
    ["[2001:4860:4860::8888]", "public IPv6 in brackets"],
    ["2001:200::1", "just past 2001::/23"],
    ["2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", "just below 2001:db8::/32"],
    ["2001:db9::", "just past 2001:db8::/32"],
    ["2003::1", "just past 2002::/16"],
    ["3fff:1000::", "just past 3fff::/20"],
    ["::ffff:8.8.8.8", "IPv4-mapped public"],
    ["64:ff9b::808:808", "NAT64 of a public address"],
    ["64:ff9b::1.1.1.1", "NAT64 of a public address, dotted"],
    ["2002:808:808::1", "6to4 of a public address"],
    [teredo("65.54.227.120", "8.8.8.8"), "Teredo with a public server and client"],
  ])("%s is public (%s)", (address) => {
    expect(isInternalAddress(address, NOT_OWN)).toBe(false);
  });
});

describe("isInternalAddress: this machine's own addresses", () => {
  const own = ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"];

  it("refuses a public address bound here, in every spelling and wherever it is embedded", () => {
    for (const address of [
      "93.184.216.34",
      "::ffff:93.184.216.34",
      "64:ff9b::5db8:d822",
      "2002:5db8:d822::1",
      teredo("65.54.227.120", "93.184.216.34"),
      "2606:2800:220:1:248:1893:25c8:1946",
      "2606:2800:0220:0001:0248:1893:25C8:1946",
    ]) {
      expect(isInternalAddress(address, NOT_OWN), address).toBe(false);
      expect(isInternalAddress(address, own), address).toBe(true);
    }
    expect(isInternalAddress("93.184.216.35", own)).toBe(false);
  });

  it("reads the interfaces of this machine by default: each of their addresses is refused", () => {
    const addresses = ownAddresses();
    expect(addresses).toContain("127.0.0.1");
    for (const address of addresses) expect(isInternalAddress(address), address).toBe(true);
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
    expect(host("http://[64:ff9b::169.254.169.254]/")).toBe("[64:ff9b::a9fe:a9fe]");
    expect(host("http://[2002:a9fe:a9fe::]/")).toBe("[2002:a9fe:a9fe::]");
    expect(host("http://198.51.100.7/db.gz")).toBe("198.51.100.7");
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

  it("refuses names that resolve to reserved ranges, to addresses embedding an internal one, or to this machine's own public address", async () => {
    const tricky = fakeLookup({
      "benchmark.test": ["198.18.0.5"],
      "docs.test": ["2001:db8::5"],
      "nat64.test": ["64:ff9b::a9fe:a9fe"],
      "sixtofour.test": ["2002:7f00:1::1"],
      "teredo.test": [teredo("65.54.227.120", "169.254.169.254")],
      "self.test": ["93.184.216.34"],
    });
    const policy: DestinationPolicy = { allowPrivateNetworks: false, lookup: tricky, isInternal: (address) => isInternalAddress(address, ["93.184.216.34"]) };
    for (const name of ["benchmark.test", "docs.test", "nat64.test", "sixtofour.test", "teredo.test", "self.test"]) {
      const { error } = await resolve(policy, name, true);
      expect(isInternalAddressError(error), name).toBe(true);
      expect(String(error)).toBe(`InternalAddressError: ${name} resolves to a private, reserved or internal address`);
    }
    expect((await resolve({ ...policy, isInternal: (address) => isInternalAddress(address, []) }, "self.test", true)).error).toBeNull();
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
    expect(await reasonOf(`${allowed.base}/file`, policy)).toBe(`remote_url points to a private, reserved or internal address (127.0.0.1), ${ALLOW}`);
    expect(await reasonOf(`http://localhost:${allowed.port}/file`, policy)).toBe(
      `remote_url http://localhost:${allowed.port}/file: localhost resolves to a private, reserved or internal address, ${ALLOW}`,
    );
    expect(await reasonOf(`http://[::ffff:127.0.0.1]:${allowed.port}/file`, policy)).toMatch(
      /^remote_url points to a private, reserved or internal address \(\[::ffff:7f00:1\]\)/,
    );
    expect(allowed.seen).toHaveLength(0);
  });

  it("refuses a redirect from an allowed host to an internal address, by IP or by name, without a request reaching it", async () => {
    expect(await reasonOf(`${allowed.base}/file`, policyExemptingAllowed)).toBe("fetched");
    for (const hop of ["/to-literal", "/to-name"]) {
      expect(await reasonOf(`${allowed.base}${hop}?sig=x`, policyExemptingAllowed)).toBe(
        `remote_url ${allowed.base}${hop}?… redirects to a private, reserved or internal address, ${ALLOW}`,
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
