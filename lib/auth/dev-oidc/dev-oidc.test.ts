import { createHash, randomBytes } from "node:crypto";
import { createServer as createTcpServer } from "node:net";

import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

import { DEMO_USERS, startDevOidcProvider } from "./index";
import type { DevOidcOptions, DevOidcProvider } from "./index";
import { isLoopbackHost } from "./loopback";

const CLIENT_ID = "lifeboat";
const CLIENT_SECRET = "dev-client-secret";
const REDIRECT_URI = "http://localhost:3000/api/auth/callback/sso";
const POST_LOGOUT_REDIRECT_URI = "http://localhost:3000/signed-out";
const SCOPE = "openid email profile groups";

function baseOptions(overrides: Partial<DevOidcOptions> = {}): DevOidcOptions {
  return {
    port: 0,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    redirectUris: [REDIRECT_URI],
    postLogoutRedirectUris: [POST_LOGOUT_REDIRECT_URI],
    cookieKeys: ["test-cookie-key-1", "test-cookie-key-0"],
    ...overrides,
  };
}

// ---------------------------------------------------------------------------
// A just-big-enough browser: cookie jar with path matching and manual redirects.

interface StoredCookie {
  name: string;
  value: string;
  path: string;
}

class CookieJar {
  readonly #cookies = new Map<string, StoredCookie>();
  readonly rawSetCookies: string[] = [];

  store(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      this.rawSetCookies.push(line);
      const [pair = "", ...attributes] = line.split(";");
      const separator = pair.indexOf("=");
      const name = pair.slice(0, separator).trim();
      const value = pair.slice(separator + 1).trim();
      let path = "/";
      let expired = false;
      for (const attribute of attributes) {
        const [key = "", attributeValue = ""] = attribute.split("=").map((part) => part.trim());
        if (key.toLowerCase() === "path") path = attributeValue;
        if (key.toLowerCase() === "expires" && Date.parse(attributeValue) <= Date.now()) expired = true;
        if (key.toLowerCase() === "max-age" && Number(attributeValue) <= 0) expired = true;
      }
      const key = `${name};${path}`;
      if (expired || value === "") this.#cookies.delete(key);
      else this.#cookies.set(key, { name, value, path });
    }
  }

  header(url: string): string {
    const { pathname } = new URL(url);
    return [...this.#cookies.values()]
      .filter(({ path }) => pathname === path || pathname.startsWith(path.endsWith("/") ? path : `${path}/`))
      .map(({ name, value }) => `${name}=${value}`)
      .join("; ");
  }

  names(): string[] {
    return [...this.#cookies.values()].map(({ name }) => name);
  }
}

async function send(jar: CookieJar, url: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const cookie = jar.header(url);
  if (cookie) headers.set("cookie", cookie);
  const response = await fetch(url, { ...init, headers, redirect: "manual" });
  jar.store(response);
  return response;
}

function postForm(jar: CookieJar, url: string, fields: Record<string, string>): Promise<Response> {
  return send(jar, url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields).toString(),
  });
}

function locationOf(response: Response, base: string): string {
  const location = response.headers.get("location");
  expect(location, `expected a redirect, got ${response.status}`).toBeTruthy();
  return new URL(location ?? "", base).href;
}

/**
 * Follows redirects (and oidc-provider's self-submitting form_post pages, which
 * a browser would post automatically) until the browser lands on `stopPrefix`.
 */
async function followUntil(jar: CookieJar, first: Response, firstUrl: string, stopPrefix: string): Promise<URL> {
  let response = first;
  let url = firstUrl;
  for (let hop = 0; hop < 10; hop++) {
    if (response.status >= 300 && response.status < 400) {
      url = locationOf(response, url);
      if (url.startsWith(stopPrefix)) return new URL(url);
      response = await send(jar, url);
      continue;
    }
    const html = await response.text();
    const form = /<form method="post" action="([^"]+)">([\s\S]*?)<\/form>/.exec(html);
    if (response.status === 200 && form?.[1] && html.includes("document.forms[0].submit()")) {
      const fields: Record<string, string> = {};
      for (const input of (form[2] ?? "").matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\/>/g)) {
        fields[input[1] ?? ""] = input[2] ?? "";
      }
      url = new URL(form[1], url).href;
      response = await postForm(jar, url, fields);
      continue;
    }
    throw new Error(`unexpected ${response.status} at ${url}: ${html.replace(/<style>[\s\S]*<\/style>/, "").slice(0, 1500)}`);
  }
  throw new Error("too many redirects");
}

interface Pkce {
  verifier: string;
  challenge: string;
}

function createPkce(): Pkce {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

function authorizationUrl(issuer: string, params: Record<string, string>): string {
  const url = new URL("/auth", issuer);
  url.search = new URLSearchParams({
    client_id: CLIENT_ID,
    redirect_uri: REDIRECT_URI,
    response_type: "code",
    scope: SCOPE,
    ...params,
  }).toString();
  return url.href;
}

interface SignInPage {
  url: string;
  html: string;
  response: Response;
  loginAction: string;
  abortAction: string;
}

/** Starts an authorization request and returns the interaction page it leads to. */
async function openSignInPage(jar: CookieJar, issuer: string, params: Record<string, string>): Promise<SignInPage> {
  const start = authorizationUrl(issuer, params);
  const authorization = await send(jar, start);
  expect(authorization.status).toBe(303);
  const url = locationOf(authorization, start);
  expect(new URL(url).pathname).toMatch(/^\/interaction\/[\w-]+$/);
  expect(new URL(url).origin).toBe(issuer);

  const response = await send(jar, url);
  expect(response.status).toBe(200);
  const html = await response.text();
  const loginAction = /<form method="post" action="([^"]+\/login)"/.exec(html)?.[1];
  const abortAction = /<form method="post" action="([^"]+\/abort)"/.exec(html)?.[1];
  expect(loginAction).toBeDefined();
  expect(abortAction).toBeDefined();
  return {
    url,
    html,
    response,
    loginAction: new URL(loginAction ?? "", url).href,
    abortAction: new URL(abortAction ?? "", url).href,
  };
}

interface SignInResult {
  code: string;
  state: string | null;
  iss: string | null;
}

async function signIn(jar: CookieJar, issuer: string, sub: string, pkce: Pkce, state: string): Promise<SignInResult> {
  const page = await openSignInPage(jar, issuer, {
    state,
    nonce: randomBytes(8).toString("hex"),
    code_challenge: pkce.challenge,
    code_challenge_method: "S256",
  });
  const chosen = await postForm(jar, page.loginAction, { sub });
  expect(chosen.status).toBe(303);
  const callback = await followUntil(jar, chosen, page.loginAction, REDIRECT_URI);
  expect(`${callback.origin}${callback.pathname}`).toBe(REDIRECT_URI);
  const code = callback.searchParams.get("code");
  expect(code, callback.href).toBeTruthy();
  return { code: code ?? "", state: callback.searchParams.get("state"), iss: callback.searchParams.get("iss") };
}

interface TokenResponse {
  status: number;
  body: Record<string, unknown>;
}

async function exchangeCode(
  issuer: string,
  code: string,
  verifier: string,
  auth: "client_secret_basic" | "client_secret_post" = "client_secret_basic",
): Promise<TokenResponse> {
  const form = new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: REDIRECT_URI, code_verifier: verifier });
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
  if (auth === "client_secret_basic") {
    const credentials = `${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(CLIENT_SECRET)}`;
    headers.authorization = `Basic ${Buffer.from(credentials).toString("base64")}`;
  } else {
    form.set("client_id", CLIENT_ID);
    form.set("client_secret", CLIENT_SECRET);
  }
  const response = await fetch(new URL("/token", issuer), { method: "POST", headers, body: form.toString() });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function decodeJwtPayload(jwt: unknown): Record<string, unknown> {
  expect(typeof jwt).toBe("string");
  const [, payload] = String(jwt).split(".");
  expect(payload).toBeTruthy();
  return JSON.parse(Buffer.from(payload ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
}

/** Text of each demo-user button, i.e. its accessible name. */
function buttonNames(html: string): string[] {
  return [...html.matchAll(/<button type="submit" name="sub" value="[^"]*"[^>]*>([^<]*)<\/button>/g)].map((match) => match[1] ?? "");
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createTcpServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

// ---------------------------------------------------------------------------

describe("startDevOidcProvider", () => {
  let provider: DevOidcProvider;
  let issuer: string;
  const providerConsoleOutput: string[] = [];
  const spies: { mockRestore(): void }[] = [];

  beforeAll(async () => {
    for (const method of ["log", "info", "warn", "error"] as const) {
      const original = console[method].bind(console);
      spies.push(
        vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
          const text = args.map(String).join(" ");
          if (text.includes("oidc-provider") || text.includes("[dev-oidc]")) providerConsoleOutput.push(text);
          original(...args);
        }),
      );
    }
    provider = await startDevOidcProvider(baseOptions());
    issuer = provider.issuer;
  });

  afterAll(async () => {
    await provider.close();
    for (const spy of spies) spy.mockRestore();
  });

  it("publishes an issuer on loopback and a discovery document for code + PKCE", async () => {
    expect(issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const response = await fetch(`${issuer}/.well-known/openid-configuration`);
    expect(response.status).toBe(200);
    const discovery = (await response.json()) as Record<string, unknown>;

    expect(discovery).toMatchObject({
      issuer,
      authorization_endpoint: `${issuer}/auth`,
      token_endpoint: `${issuer}/token`,
      userinfo_endpoint: `${issuer}/me`,
      jwks_uri: `${issuer}/jwks`,
      end_session_endpoint: `${issuer}/session/end`,
      response_types_supported: ["code"],
      grant_types_supported: ["authorization_code"],
    });
    expect(discovery.code_challenge_methods_supported).toContain("S256");
    expect(discovery.scopes_supported).toEqual(expect.arrayContaining(["openid", "email", "profile", "groups"]));
    expect(discovery.claims_supported).toEqual(expect.arrayContaining(["sub", "email", "email_verified", "name", "groups"]));
    expect(discovery.token_endpoint_auth_methods_supported).toEqual(expect.arrayContaining(["client_secret_basic", "client_secret_post"]));
    expect(discovery.id_token_signing_alg_values_supported).toContain("RS256");

    const jwks = (await (await fetch(`${issuer}/jwks`)).json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: "RSA", use: "sig", alg: "RS256" });
    // Only the public half may be published.
    expect(jwks.keys[0]).not.toHaveProperty("d");
  });

  it("renders an accessible, self-contained sign-in page listing every demo user", async () => {
    const jar = new CookieJar();
    const { html, response } = await openSignInPage(jar, issuer, {
      state: "page-check",
      code_challenge: createPkce().challenge,
      code_challenge_method: "S256",
    });

    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(html).toMatch(/<html lang="en">/);
    expect(html).toMatch(/<main>[\s\S]*<h1>Lifeboat development sign-in<\/h1>[\s\S]*<\/main>/);
    expect(html).toContain("For local development only.");

    expect(buttonNames(html)).toEqual(["Sign in as Ada Admin", "Sign in as Max Member", "Sign in as Uma Nonprod", "Sign in as Olga Operator"]);
    for (const user of DEMO_USERS) {
      expect(html).toContain(user.email);
      expect(html).toContain(user.description);
      for (const group of user.groups) expect(html).toContain(`<code>${group}</code>`);
    }
    expect(html).toMatch(/<button type="submit" class="secondary">Cancel<\/button>/);
    // No external assets: nothing is loaded from anywhere.
    expect(html).not.toMatch(/\s(src|href)=/);
    expect(html).not.toContain("@import");
  });

  it("signs Ada in with code + PKCE and puts the profile claims into the ID token", async () => {
    const jar = new CookieJar();
    const pkce = createPkce();
    const state = randomBytes(12).toString("base64url");

    const result = await signIn(jar, issuer, "ada", pkce, state);
    expect(result.state).toBe(state);
    // RFC 9207: next-auth's openid-client checks this against the issuer.
    expect(result.iss).toBe(issuer);

    const token = await exchangeCode(issuer, result.code, pkce.verifier);
    expect(token.status).toBe(200);
    expect(token.body).toMatchObject({ token_type: "Bearer", scope: SCOPE });
    expect(token.body).not.toHaveProperty("refresh_token");

    const claims = decodeJwtPayload(token.body.id_token);
    expect(claims).toMatchObject({
      iss: issuer,
      aud: CLIENT_ID,
      sub: "ada",
      email: "admin@acme.test",
      email_verified: true,
      name: "Ada Admin",
      groups: ["acme-admins"],
    });
    expect(typeof claims.nonce).toBe("string");
    expect(Number(claims.exp) - Number(claims.iat)).toBeLessThanOrEqual(10 * 60);

    const userinfo = await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${String(token.body.access_token)}` } });
    expect(userinfo.status).toBe(200);
    expect(await userinfo.json()).toEqual({
      sub: "ada",
      email: "admin@acme.test",
      email_verified: true,
      name: "Ada Admin",
      groups: ["acme-admins"],
    });

    // Plain http on loopback: cookies must be signed but never `Secure`
    // (a browser would drop them), and must carry our own names.
    expect(jar.rawSetCookies.length).toBeGreaterThan(0);
    for (const line of jar.rawSetCookies) {
      expect(line.toLowerCase()).not.toMatch(/;\s*secure/);
      expect(line).toMatch(/^lifeboat_dev_oidc_/);
    }
    expect(jar.names()).toEqual(expect.arrayContaining(["lifeboat_dev_oidc_session", "lifeboat_dev_oidc_session.sig"]));
  });

  it.each(DEMO_USERS.map((user) => [user.sub, user] as const))("issues %s's demo-user claims", async (_sub, user) => {
    const pkce = createPkce();
    const result = await signIn(new CookieJar(), issuer, user.sub, pkce, `state-${user.sub}`);
    const token = await exchangeCode(issuer, result.code, pkce.verifier);
    expect(token.status).toBe(200);
    expect(decodeJwtPayload(token.body.id_token)).toMatchObject({
      sub: user.sub,
      email: user.email,
      email_verified: true,
      name: user.name,
      groups: user.groups,
    });
  });

  it("rejects a token request with the wrong code_verifier, and the code cannot be replayed", async () => {
    const pkce = createPkce();
    const result = await signIn(new CookieJar(), issuer, "max", pkce, "wrong-verifier");

    const wrong = await exchangeCode(issuer, result.code, createPkce().verifier);
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toBe("invalid_grant");

    const right = await exchangeCode(issuer, result.code, pkce.verifier);
    expect(right.status).toBe(200);
    const replay = await exchangeCode(issuer, result.code, pkce.verifier);
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe("invalid_grant");
  });

  it("requires PKCE", async () => {
    const start = authorizationUrl(issuer, { state: "no-pkce" });
    const response = await send(new CookieJar(), start);
    expect(response.status).toBe(303);
    const callback = new URL(locationOf(response, start));
    expect(`${callback.origin}${callback.pathname}`).toBe(REDIRECT_URI);
    expect(callback.searchParams.get("error")).toBe("invalid_request");
    expect(callback.searchParams.get("error_description")).toMatch(/PKCE/);
    expect(callback.searchParams.get("state")).toBe("no-pkce");
  });

  it("returns access_denied with the state when the user cancels", async () => {
    const jar = new CookieJar();
    const page = await openSignInPage(jar, issuer, {
      state: "cancelled",
      code_challenge: createPkce().challenge,
      code_challenge_method: "S256",
    });
    const aborted = await postForm(jar, page.abortAction, {});
    expect(aborted.status).toBe(303);
    const callback = await followUntil(jar, aborted, page.abortAction, REDIRECT_URI);
    expect(callback.searchParams.get("error")).toBe("access_denied");
    expect(callback.searchParams.get("state")).toBe("cancelled");
    expect(callback.searchParams.has("code")).toBe(false);
  });

  it("refuses unknown users and expired or foreign interactions with an error page", async () => {
    const jar = new CookieJar();
    const page = await openSignInPage(jar, issuer, {
      state: "bad-user",
      code_challenge: createPkce().challenge,
      code_challenge_method: "S256",
    });
    const unknown = await postForm(jar, page.loginAction, { sub: "mallory" });
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toContain("Unknown demo user");

    // Without the interaction cookie (another browser, or expired).
    const stranger = await send(new CookieJar(), page.url);
    expect(stranger.status).toBe(400);
    expect(await stranger.text()).toContain("Sign-in request expired");

    const wrongMethod = await send(jar, page.loginAction);
    expect(wrongMethod.status).toBe(405);
  });

  it("asks again on the next sign-in so users can switch, and accepts client_secret_post", async () => {
    const jar = new CookieJar();
    const first = createPkce();
    const ada = await signIn(jar, issuer, "ada", first, "first");
    expect((await exchangeCode(issuer, ada.code, first.verifier)).status).toBe(200);

    // Same browser, live provider session: the picker is still shown
    // (signIn asserts the redirect to the interaction page).
    const second = createPkce();
    const uma = await signIn(jar, issuer, "uma", second, "second");
    expect(uma.state).toBe("second");
    const token = await exchangeCode(issuer, uma.code, second.verifier, "client_secret_post");
    expect(token.status).toBe(200);
    expect(decodeJwtPayload(token.body.id_token)).toMatchObject({
      sub: "uma",
      email: "nonprod-admin@acme.test",
      groups: ["acme-nonprod-admins"],
    });
  });

  it("supports RP-initiated logout back to the registered post-logout URI", async () => {
    const jar = new CookieJar();
    const pkce = createPkce();
    const result = await signIn(jar, issuer, "max", pkce, "logout");
    const token = await exchangeCode(issuer, result.code, pkce.verifier);
    expect(jar.names()).toContain("lifeboat_dev_oidc_session");

    const logoutUrl = new URL("/session/end", issuer);
    logoutUrl.search = new URLSearchParams({
      id_token_hint: String(token.body.id_token),
      post_logout_redirect_uri: POST_LOGOUT_REDIRECT_URI,
      state: "bye",
    }).toString();
    const confirmPage = await send(jar, logoutUrl.href);
    expect(confirmPage.status).toBe(200);
    const html = await confirmPage.text();
    // The page submits itself with logout=yes; emulate that.
    expect(html).toContain('<input type="hidden" name="logout" value="yes" form="op.logoutForm">');
    expect(html).toContain(".submit()");
    const action = /<form id="op.logoutForm" method="post" action="([^"]+)">/.exec(html)?.[1];
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1];
    expect(action).toBeDefined();
    expect(xsrf).toBeDefined();

    const confirmed = await postForm(jar, new URL(action ?? "", issuer).href, { xsrf: xsrf ?? "", logout: "yes" });
    expect(confirmed.status).toBe(303);
    const back = new URL(locationOf(confirmed, issuer));
    expect(`${back.origin}${back.pathname}`).toBe(POST_LOGOUT_REDIRECT_URI);
    expect(back.searchParams.get("state")).toBe("bye");
    expect(jar.names()).not.toContain("lifeboat_dev_oidc_session");
  });

  it("logs out by client_id without an ID token or provider session", async () => {
    // What Lifeboat should send: an id_token_hint from before a provider
    // restart no longer verifies (fresh signing key per start).
    const jar = new CookieJar();
    const logoutUrl = new URL("/session/end", issuer);
    logoutUrl.search = new URLSearchParams({
      client_id: CLIENT_ID,
      post_logout_redirect_uri: POST_LOGOUT_REDIRECT_URI,
      state: "no-session",
    }).toString();
    const first = await send(jar, logoutUrl.href);
    expect(first.status).toBe(200);
    const back = await followUntil(jar, first, logoutUrl.href, POST_LOGOUT_REDIRECT_URI);
    expect(`${back.origin}${back.pathname}`).toBe(POST_LOGOUT_REDIRECT_URI);
    expect(back.searchParams.get("state")).toBe("no-session");
  });

  it("kept oidc-provider's development notices out of the console", () => {
    // Runs last: covers start-up and every flow above.
    expect(providerConsoleOutput).toEqual([]);
  });
});

describe("startDevOidcProvider options", () => {
  it.each(["0.0.0.0", "::", "192.168.1.10", "example.com", "10.0.0.1"])("refuses to listen on %s", async (host) => {
    await expect(startDevOidcProvider(baseOptions({ host }))).rejects.toThrow(/loopback/);
  });

  it("recognises loopback hosts", () => {
    for (const host of ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]", "::ffff:127.0.0.1"]) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
    for (const host of ["0.0.0.0", "::", "128.0.0.1", "localhost.example.com", "::ffff:10.0.0.1", ""]) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });

  it("rejects incomplete options before listening", async () => {
    await expect(startDevOidcProvider(baseOptions({ cookieKeys: [] }))).rejects.toThrow(/cookie key/);
    await expect(startDevOidcProvider(baseOptions({ redirectUris: [] }))).rejects.toThrow(/redirect URI/);
    await expect(startDevOidcProvider(baseOptions({ port: 70000 }))).rejects.toThrow(/port/);
  });

  it("escapes everything it puts into the sign-in page", async () => {
    const provider = await startDevOidcProvider(
      baseOptions({
        users: [
          {
            sub: 'x"><script>alert(1)</script>',
            email: "<b>mail</b>@acme.test",
            name: "Eve <img src=x onerror=alert(1)>",
            groups: ["<g>&"],
            description: `'quoted' & "double"`,
          },
        ],
      }),
    );
    try {
      const { html } = await openSignInPage(new CookieJar(), provider.issuer, {
        state: "escape",
        code_challenge: createPkce().challenge,
        code_challenge_method: "S256",
      });
      expect(html).not.toContain("<script>");
      expect(html).not.toContain("<img");
      expect(html).not.toContain("<b>mail");
      expect(html).toContain('value="x&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
      expect(html).toContain("Sign in as Eve &lt;img src=x onerror=alert(1)&gt;");
      expect(html).toContain("&lt;b&gt;mail&lt;/b&gt;@acme.test");
      expect(html).toContain("<code>&lt;g&gt;&amp;</code>");
      expect(html).toContain("&#39;quoted&#39; &amp; &quot;double&quot;");
    } finally {
      await provider.close();
    }
  });

  it("close() frees the port even with a keep-alive connection open", async () => {
    const provider = await startDevOidcProvider(baseOptions());
    const port = Number(new URL(provider.issuer).port);
    // fetch keeps this socket alive in its pool after the response.
    const discovery = await fetch(`${provider.issuer}/.well-known/openid-configuration`);
    expect(discovery.status).toBe(200);
    await discovery.text();
    expect(await portIsFree(port)).toBe(false);

    const started = Date.now();
    await provider.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await portIsFree(port)).toBe(true);
    await expect(fetch(`${provider.issuer}/.well-known/openid-configuration`)).rejects.toThrow();
    // Idempotent, so shutdown paths can call it unconditionally.
    await expect(provider.close()).resolves.toBeUndefined();
  });
});
