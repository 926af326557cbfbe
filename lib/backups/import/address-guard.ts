import { lookup as dnsLookup } from "node:dns";
import type { LookupAddress } from "node:dns";
import { isIP, isIPv4 } from "node:net";
import type { LookupFunction } from "node:net";

/*
 * Import from a URL makes the Lifeboat server fetch whatever an environment
 * administrator names, and an environment administrator is not a server
 * administrator: without this guard they could make it read cloud metadata
 * (169.254.169.254), loopback services or the private network, and learn
 * from the failure reason what answered there. Addresses are checked where
 * the connection is made (the `lookup` of each hop's socket), so a name that
 * resolves to a public address when asked early and to an internal one when
 * connecting (DNS rebinding) is still refused.
 */

/** IPv4 ranges that are not the public internet, as [network, prefix length]. */
const INTERNAL_IPV4: readonly [string, number][] = [
  ["0.0.0.0", 8], // "this network", including the unspecified 0.0.0.0
  ["10.0.0.0", 8], // private
  ["100.64.0.0", 10], // carrier-grade NAT
  ["127.0.0.0", 8], // loopback
  ["169.254.0.0", 16], // link-local: cloud metadata services live here
  ["172.16.0.0", 12], // private
  ["192.168.0.0", 16], // private
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, and the broadcast 255.255.255.255
];

function ipv4ToNumber(address: string): number {
  return address.split(".").reduce((value, octet) => value * 256 + Number(octet), 0);
}

function isInternalIPv4(address: string): boolean {
  const value = ipv4ToNumber(address);
  return INTERNAL_IPV4.some(([network, bits]) => {
    const size = 2 ** (32 - bits);
    return Math.floor(value / size) === Math.floor(ipv4ToNumber(network) / size);
  });
}

/** The eight 16-bit groups of an IPv6 address (already known to be valid), a trailing dotted IPv4 included. */
function ipv6Groups(address: string): number[] {
  let text = address;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = ipv4ToNumber(dotted[1]!);
    text = `${text.slice(0, dotted.index)}${Math.floor(v4 / 65536).toString(16)}:${(v4 % 65536).toString(16)}`;
  }
  const [head, tail] = text.split("::") as [string, string | undefined];
  const parse = (part: string) => (part ? part.split(":").map((group) => parseInt(group, 16)) : []);
  const front = parse(head);
  if (tail === undefined) return front;
  const back = parse(tail);
  return [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
}

function embeddedIPv4(groups: number[]): string {
  return [groups[6]! >> 8, groups[6]! & 255, groups[7]! >> 8, groups[7]! & 255].join(".");
}

function isInternalIPv6(address: string): boolean {
  const groups = ipv6Groups(address);
  const first = groups[0]!;
  const zeros = (from: number, to: number) => groups.slice(from, to).every((group) => group === 0);
  if (zeros(0, 8)) return true; // :: unspecified
  if (zeros(0, 7) && groups[7] === 1) return true; // ::1 loopback
  // IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d): judged by the IPv4 address inside.
  if (zeros(0, 5) && groups[5] === 0xffff) return isInternalIPv4(embeddedIPv4(groups));
  if (zeros(0, 6)) return isInternalIPv4(embeddedIPv4(groups));
  if (first === 0x64 && groups[1] === 0xff9b && zeros(2, 6)) return isInternalIPv4(embeddedIPv4(groups));
  if ((first & 0xffc0) === 0xfe80) return true; // fe80::/10 link-local
  if ((first & 0xffc0) === 0xfec0) return true; // fec0::/10 site-local (deprecated, still private)
  if ((first & 0xfe00) === 0xfc00) return true; // fc00::/7 unique local (private)
  if ((first & 0xff00) === 0xff00) return true; // ff00::/8 multicast
  return false;
}

/**
 * Whether `address` (an IP literal, IPv6 with or without brackets or a
 * `%zone`) is loopback, link-local, private, unspecified, carrier-grade NAT,
 * multicast/broadcast/reserved — or an IPv6 form of one. Anything that is not
 * an IP address at all counts as internal: the guard fails closed.
 */
export function isInternalAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  if (isIPv4(bare)) return isInternalIPv4(bare);
  if (isIP(bare) === 6) return isInternalIPv6(bare.toLowerCase());
  return true;
}

/** `localhost` and `*.localhost` always mean this machine (RFC 6761), whatever DNS says. */
function isLocalhostName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, "");
  return name === "localhost" || name.endsWith(".localhost");
}

/**
 * The host of `url` when it plainly names an internal destination without
 * asking DNS (an internal IP literal, or localhost); null otherwise. Lets the
 * request be refused at once (400) instead of failing later in the job.
 */
export function obviouslyInternalHost(url: URL): string | null {
  const host = url.hostname;
  if (isIP(host.replace(/^\[|\]$/g, "")) !== 0) return isInternalAddress(host) ? host : null;
  return isLocalhostName(host) ? host : null;
}

/** The error a refused lookup fails the connection with; fetch-to-storage turns it into the reason the person reads. */
export class InternalAddressError extends Error {
  override readonly name = "InternalAddressError";
  readonly code = "ELIFEBOAT_INTERNAL_ADDRESS";
}

export function isInternalAddressError(error: unknown): error is InternalAddressError {
  return error instanceof InternalAddressError;
}

/** Where an import may connect to. */
export interface DestinationPolicy {
  /** IMPORT_ALLOW_PRIVATE_NETWORKS: internal addresses are fetched from too. */
  allowPrivateNetworks: boolean;
  /** Resolves host names: dns.lookup, unless a test injects one. */
  lookup?: LookupFunction;
  /** Which addresses count as internal: isInternalAddress, unless a test exempts its own loopback server. */
  isInternal?: (address: string) => boolean;
}

/**
 * A `lookup` for net/tls `connect` that resolves as `policy.lookup` does and
 * then refuses every answer containing an internal address (unless allowed).
 * It sees the addresses the socket is about to use, which is what defeats DNS
 * rebinding. Literal IP hosts never reach a lookup: see checkLiteralHost.
 */
export function guardedLookup(policy: DestinationPolicy): LookupFunction {
  const resolve = policy.lookup ?? (dnsLookup as unknown as LookupFunction);
  const isInternal = policy.isInternal ?? isInternalAddress;
  return (hostname, options, callback) => {
    resolve(hostname, options, (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => {
      if (error || policy.allowPrivateNetworks) return callback(error, address as string, family as number);
      const addresses = Array.isArray(address) ? address.map((entry) => entry.address) : [address];
      if (addresses.some((entry) => isInternal(entry))) {
        // Only the name is said, never what it resolved to: that is more than the person typed.
        return callback(new InternalAddressError(`${hostname} resolves to a private or internal address`), "", 4);
      }
      callback(null, address as string, family as number);
    });
  };
}

/** Refuses an internal IP literal host before any connection (net skips `lookup` for IP literals). */
export function checkLiteralHost(url: URL, policy: DestinationPolicy): void {
  if (policy.allowPrivateNetworks) return;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (isIP(host) !== 0 && (policy.isInternal ?? isInternalAddress)(host)) {
    throw new InternalAddressError(`${url.hostname} is a private or internal address`);
  }
}
