import { lookup as dnsLookup } from "node:dns";
import type { LookupAddress } from "node:dns";
import { isIP } from "node:net";
import type { LookupFunction } from "node:net";
import { networkInterfaces } from "node:os";

import ipaddr from "ipaddr.js";

/*
 * Import from a URL makes the Lifeboat server fetch whatever an environment
 * administrator names, and an environment administrator is not a server
 * administrator: without this guard they could make it read cloud metadata
 * (169.254.169.254), loopback services or the private network, and learn
 * from the failure reason what answered there. Addresses are checked where
 * the connection is made (the `lookup` of each hop's socket), so a name that
 * resolves to a public address when asked early and to an internal one when
 * connecting (DNS rebinding) is still refused.
 *
 * What counts as public is ipaddr.js's classification of the IANA
 * special-purpose registries (IPv4 and IPv6), not a list kept here: an
 * address is fetched from only when it is ordinary global unicast. Addresses
 * that carry an IPv4 address inside are judged by that address:
 *
 *   ::ffff:a.b.c.d       IPv4-mapped: a dual-stack socket connects to a.b.c.d itself
 *   64:ff9b::a.b.c.d     NAT64, the well-known prefix (RFC 6052 allows only the /96 layout there)
 *   2002:AABB:CCDD::/48  6to4: the relay delivers to AA.BB.CC.DD
 *   2001:0:S:S:f:p:C:C   Teredo: the server S and the client (C XOR 0xffffffff) must both be public
 *
 * Refused outright, whatever they embed: IPv4-compatible ::a.b.c.d and
 * IPv4-translated ::ffff:0:a.b.c.d (deprecated, never routed on the
 * internet), and the local-use NAT64 prefix 64:ff9b:1::/48 (RFC 8215: not
 * globally reachable, and where the IPv4 address sits depends on the prefix
 * length its operator chose, /48 to /96, which the guard cannot know).
 * IPv6 outside 2000::/3 is not allocated as global unicast and is refused
 * too. Last, an address bound on one of this machine's own interfaces is
 * refused even when it is public: it reaches Lifeboat's own services.
 */

/** How every refusal names what was refused, and what the person can do about it. */
export const NOT_PUBLIC = "a private, reserved or internal address";
export const PRIVATE_NETWORKS_ADVICE =
  "Use a URL on the public internet, or ask an administrator of the Lifeboat server to allow such addresses with IMPORT_ALLOW_PRIVATE_NETWORKS=true.";

/** The addresses on this machine's interfaces (os.networkInterfaces), read on every check: interfaces come and go. */
export function ownAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((entries) => (entries ?? []).map((entry) => entry.address));
}

/** The IPv4 address held in two 16-bit groups. */
function ipv4At(high: number, low: number): ipaddr.IPv4 {
  return ipaddr.fromByteArray([high >> 8, high & 255, low >> 8, low & 255]) as ipaddr.IPv4;
}

/** Whether a parsed address is anything but a public unicast address of some other host. */
function isInternalParsed(address: ipaddr.IPv4 | ipaddr.IPv6, own: ReadonlySet<string>): boolean {
  if (address.kind() === "ipv4") return address.range() !== "unicast" || own.has(address.toString());
  const v6 = address as ipaddr.IPv6;
  const p = v6.parts;
  const judgeEmbedded = (...embedded: ipaddr.IPv4[]) => embedded.some((v4) => isInternalParsed(v4, own)) || own.has(v6.toNormalizedString());
  // ipaddr.js's names; its types list fewer than its table has (discard, segmentRouting, …), all of them refused below.
  const range: string = v6.range();
  switch (range) {
    case "ipv4Mapped":
      return judgeEmbedded(v6.toIPv4Address());
    case "rfc6052":
      // 64:ff9b::/96 only; 64:ff9b:1::/48 is local use (see above).
      return p[2] !== 0 || p[3] !== 0 || p[4] !== 0 || p[5] !== 0 ? true : judgeEmbedded(ipv4At(p[6]!, p[7]!));
    case "6to4":
      return judgeEmbedded(ipv4At(p[1]!, p[2]!));
    case "teredo":
      return judgeEmbedded(ipv4At(p[2]!, p[3]!), ipv4At(p[6]! ^ 0xffff, p[7]! ^ 0xffff));
    case "unicast":
      // ::/8 holds the IPv4-compatible form (::a.b.c.d); nothing outside 2000::/3 is global unicast today.
      if ((p[0]! & 0xe000) !== 0x2000) return true;
      return own.has(v6.toNormalizedString());
    default:
      return true;
  }
}

function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  const bare = text.replace(/^\[|\]$/g, "");
  // A zone (fe80::1%eth0) only ever scopes a link-local or multicast address: never a public one.
  if (bare.includes("%")) return null;
  const family = isIP(bare);
  if (family === 4) return ipaddr.IPv4.parse(bare);
  if (family !== 6) return null;
  // ipaddr.js reads "::a.b.c.d" as "::ffff:a.b.c.d"; the URL parser's canonical form (hex groups only) it reads right.
  return ipaddr.IPv6.parse(new URL(`http://[${bare}]/`).hostname.slice(1, -1));
}

/**
 * Whether `address` (an IP literal, IPv6 with or without brackets) is
 * anything but a public unicast address of another host: see above for
 * what that excludes. Anything that is not an IP address at all counts as
 * internal: the guard fails closed. `own` defaults to this machine's
 * interface addresses.
 */
export function isInternalAddress(address: string, own: Iterable<string> = ownAddresses()): boolean {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6 | null;
  try {
    parsed = parseAddress(address);
  } catch {
    return true;
  }
  if (!parsed) return true;
  const ownSet = new Set<string>();
  for (const entry of own) {
    try {
      const ownParsed = parseAddress(entry);
      if (ownParsed) ownSet.add(ownParsed.kind() === "ipv4" ? ownParsed.toString() : (ownParsed as ipaddr.IPv6).toNormalizedString());
    } catch {
      // an interface address we cannot read says nothing about this one
    }
  }
  return isInternalParsed(parsed, ownSet);
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
  /** Which addresses count as internal: isInternalAddress (this machine's own included), unless a test says otherwise. */
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
        return callback(new InternalAddressError(`${hostname} resolves to ${NOT_PUBLIC}`), "", 4);
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
    throw new InternalAddressError(`${url.hostname} is ${NOT_PUBLIC}`);
  }
}
