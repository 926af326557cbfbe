import { isIPv4, isIPv6 } from "node:net";

/** True for "localhost", 127.0.0.0/8, ::1 and IPv4-mapped 127.x addresses (brackets allowed). */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (bare.toLowerCase() === "localhost") return true;
  if (isIPv4(bare)) return bare.startsWith("127.");
  if (isIPv6(bare)) {
    const lower = bare.toLowerCase();
    if (lower === "::1" || lower === "0:0:0:0:0:0:0:1") return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower)?.[1];
    return mapped !== undefined && isIPv4(mapped) && mapped.startsWith("127.");
  }
  return false;
}
