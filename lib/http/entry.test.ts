import { createServer } from "node:http";
import type { IncomingMessage, Server } from "node:http";
import type { AddressInfo } from "node:net";

import { afterEach, describe, expect, it } from "vitest";

import { clientAddress, CLIENT_ADDRESS_HEADER } from "./client-address";
import { createRequestListener, isDecodablePath, securityHeaders } from "./entry";

/*
 * What every request meets before the byte paths and Next: the headers, the
 * 400 for an undecodable address, and the client address, over real HTTP on
 * loopback with a stand-in for Next that says what it was given.
 */

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function start(https = false): Promise<{ url: string; seen: { path: string; clientAddress: string | undefined }[] }> {
  const seen: { path: string; clientAddress: string | undefined }[] = [];
  server = createServer(
    createRequestListener({
      https,
      serveBytePath: (req, res) => {
        if (!req.url?.startsWith("/backup/")) return false;
        res.writeHead(200, { "content-type": "application/octet-stream" }).end("bytes");
        return true;
      },
      serveNext: async (req, res) => {
        seen.push({ path: req.url ?? "", clientAddress: req.headers[CLIENT_ADDRESS_HEADER] as string | undefined });
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      },
    }),
  );
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, seen };
}

describe("the request entry", () => {
  it("puts the security headers on every answer, byte paths and errors included; HSTS only over https", async () => {
    const { url } = await start();
    for (const path of ["/api/v1/environments", "/backup/download/database/x", "/api/v1/backups/%ff"]) {
      const response = await fetch(`${url}${path}`);
      await response.arrayBuffer();
      expect(response.headers.get("x-frame-options"), path).toBe("DENY");
      expect(response.headers.get("x-content-type-options"), path).toBe("nosniff");
      expect(response.headers.get("referrer-policy"), path).toBe("same-origin");
      expect(response.headers.get("content-security-policy"), path).toBe("default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
      expect(response.headers.get("strict-transport-security"), path).toBeNull();
    }
    expect(securityHeaders({ https: true })["strict-transport-security"]).toBe("max-age=31536000; includeSubDomains");
  });

  it("answers an address that does not decode with 400 JSON, before anything else sees it", async () => {
    const { url, seen } = await start();
    for (const path of ["/api/v1/backups/%ff", "/api/v1/uploads/%E0%A4%A/parts/1", "/projects/acme/%c0%af"]) {
      const response = await fetch(`${url}${path}`);
      expect(response.status, path).toBe(400);
      expect(response.headers.get("content-type"), path).toMatch(/^application\/json/);
      expect(((await response.json()) as { error: { code: string } }).error.code, path).toBe("bad_request");
    }
    expect(seen).toEqual([]);
    expect(isDecodablePath("/api/v1/backups/acme-x-1?q=%ff")).toBe(true); // the query is the route's business
    expect(isDecodablePath("/a%20b%2Fc")).toBe(true);
  });

  it("hands Next the address it worked out, whatever the client sent in that header or in X-Forwarded-For", async () => {
    const { url, seen } = await start();
    await (await fetch(`${url}/api/v1/environments`, { headers: { [CLIENT_ADDRESS_HEADER]: "6.6.6.6", "x-forwarded-for": "7.7.7.7" } })).text();
    expect(seen).toEqual([{ path: "/api/v1/environments", clientAddress: "127.0.0.1" }]);
  });
});

describe("the client address", () => {
  const request = (forwarded?: string) =>
    ({
      socket: { remoteAddress: "127.0.0.1" },
      headers: forwarded ? { "x-forwarded-for": forwarded } : {},
      connection: { remoteAddress: "127.0.0.1" },
    }) as unknown as IncomingMessage;

  it("is the socket's peer unless TRUST_PROXY says which proxies to believe", () => {
    expect(clientAddress(request("6.6.6.6, 10.0.0.2"), false)).toBe("127.0.0.1");
    expect(clientAddress(request(), 1)).toBe("127.0.0.1");
    // One trusted hop: the address the proxy saw. Two: the one before it.
    expect(clientAddress(request("6.6.6.6, 10.0.0.2"), 1)).toBe("10.0.0.2");
    expect(clientAddress(request("6.6.6.6, 10.0.0.2"), 2)).toBe("6.6.6.6");
    // By address: believed while the hop is a trusted one, and no further.
    expect(clientAddress(request("6.6.6.6, 10.0.0.2"), ["loopback"])).toBe("10.0.0.2");
    expect(clientAddress(request("6.6.6.6, 10.0.0.2"), ["loopback", "10.0.0.0/8"])).toBe("6.6.6.6");
  });
});
