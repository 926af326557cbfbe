import type { IncomingMessage } from "node:http";

import proxyaddr from "proxy-addr";

import { getConfig } from "@/lib/config";
import type { AppConfig } from "@/lib/config";

/*
 * Who the client is, for the audit log, the rate limit and the logs.
 * Without TRUST_PROXY the socket's peer is the client, whatever
 * X-Forwarded-For claims: anyone can send that header. With it, proxy-addr
 * walks X-Forwarded-For from the socket back through the trusted hops (a
 * count, or addresses and CIDRs) and stops at the first untrusted address.
 *
 * server.ts computes it once per request and hands it to Next's route
 * handlers in CLIENT_ADDRESS_HEADER, after deleting whatever the client
 * sent under that name.
 */

export const CLIENT_ADDRESS_HEADER = "x-lifeboat-client-address";

export interface RequestInfo {
  ip?: string | null;
  userAgent?: string | null;
}

type TrustFunction = (address: string, hop: number) => boolean;

const compiled = new WeakMap<object, TrustFunction>();

function trustFunction(trust: AppConfig["trustProxy"]): TrustFunction {
  if (trust === false) return () => false;
  if (typeof trust === "number") return (_address, hop) => hop < trust;
  let fn = compiled.get(trust);
  if (!fn) {
    fn = proxyaddr.compile(trust);
    compiled.set(trust, fn);
  }
  return fn;
}

export function clientAddress(req: IncomingMessage, trust: AppConfig["trustProxy"] = getConfig().trustProxy): string | null {
  if (!req.socket.remoteAddress) return null;
  if (trust === false) return req.socket.remoteAddress;
  return proxyaddr(req, trustFunction(trust));
}

/** Overwrites the internal header with the address computed here, so nothing a client sends can stand in for it. */
export function stampClientAddress(req: IncomingMessage): void {
  delete req.headers[CLIENT_ADDRESS_HEADER];
  const address = clientAddress(req);
  if (address) req.headers[CLIENT_ADDRESS_HEADER] = address;
}

/** The address and user agent of a request a Next route handler serves (stamped by server.ts). */
export function requestInfo(request: Request): RequestInfo {
  return { ip: request.headers.get(CLIENT_ADDRESS_HEADER), userAgent: request.headers.get("user-agent") };
}

/** The same for a plain Node handler. */
export function nodeRequestInfo(req: IncomingMessage): RequestInfo {
  const agent = req.headers["user-agent"];
  return { ip: clientAddress(req), userAgent: (Array.isArray(agent) ? agent[0] : agent) ?? null };
}
