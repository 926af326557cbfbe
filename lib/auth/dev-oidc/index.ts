/**
 * Built-in development OpenID Connect provider for the embedded default
 * configuration: lets a new user sign in to Lifeboat as one of the demo users
 * without setting up a real identity provider.
 *
 * Only the custom Node server and tests import this module; it must never end
 * up in a Next.js bundle.
 */
import { createHash, generateKeyPair } from "node:crypto";
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";

import type * as OidcProviderModule from "oidc-provider";
import type { Configuration, CookiesSetOptions, Interaction, JWK, Provider } from "oidc-provider";

import { DEMO_USERS } from "./demo-users";
import type { DemoUser } from "./demo-users";
import { isLoopbackHost } from "./loopback";
import { MemoryStore } from "./memory-adapter";
import { logoutScript, PROVIDER_TITLE, renderLogoutPage, renderMessagePage, renderSignInPage } from "./pages";

export { DEMO_USERS } from "./demo-users";
export type { DemoUser } from "./demo-users";

export interface DevOidcOptions {
  /** Defaults to "127.0.0.1". Must be a loopback address: a development IdP signs anyone in. */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  clientId: string;
  clientSecret: string;
  /** e.g. ["http://localhost:3000/api/auth/callback/sso"] */
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
  /** Secrets used to sign the provider's cookies; the first one signs, all verify. */
  cookieKeys: string[];
  users?: readonly DemoUser[];
}

export interface DevOidcProvider {
  /** `http://127.0.0.1:<port>` (no trailing slash); the value of `iss` in every token. */
  issuer: string;
  close(): Promise<void>;
}

const SCOPES = ["openid", "email", "profile", "groups"] as const;
const CLAIMS: Record<(typeof SCOPES)[number], string[]> = {
  openid: ["sub"],
  email: ["email", "email_verified"],
  profile: ["name"],
  groups: ["groups"],
};

// Lifetimes in seconds. Short, because nothing here survives a restart anyway,
// but long enough that a person reading the sign-in page is not rushed.
const TTL = {
  AuthorizationCode: 60,
  AccessToken: 10 * 60,
  IdToken: 10 * 60,
  Interaction: 10 * 60,
  Session: 8 * 60 * 60,
  Grant: 8 * 60 * 60,
} as const;

// Prefixed so they cannot collide with Lifeboat's own cookies: browsers do not
// separate cookies by port, and the app usually runs on the same host.
const COOKIE_NAMES = {
  session: "lifeboat_dev_oidc_session",
  interaction: "lifeboat_dev_oidc_interaction",
  resume: "lifeboat_dev_oidc_resume",
};

const LOGOUT_FORM_ID = "op.logoutForm";
const MAX_FORM_BYTES = 8 * 1024;

/**
 * On every response of the provider — its own pages, oidc-provider's
 * (sign-out, errors) and its JSON. No form-action: browsers apply it to the
 * redirects that follow a form submission, and sign-in ends with a redirect
 * to the client. The one script, the sign-out page's, is allowed by its hash.
 */
const SECURITY_HEADERS = {
  "Content-Security-Policy": `default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${createHash("sha256").update(logoutScript(LOGOUT_FORM_ID)).digest("base64")}'; base-uri 'none'; frame-ancestors 'none'`,
  "X-Frame-Options": "DENY",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
} as const;

const PAGE_HEADERS = {
  "Content-Type": "text/html; charset=utf-8",
  "Cache-Control": "no-store",
  ...SECURITY_HEADERS,
} as const;

export async function startDevOidcProvider(options: DevOidcOptions): Promise<DevOidcProvider> {
  // Accept the URL form "[::1]" too; listen() wants the bare address.
  const host = (options.host ?? "127.0.0.1").replace(/^\[(.*)\]$/, "$1");
  if (!isLoopbackHost(host)) {
    throw new Error(`The development OIDC provider only listens on a loopback address (such as 127.0.0.1 or ::1); refusing to listen on "${host}".`);
  }
  validateOptions(options);
  const users = options.users ?? DEMO_USERS;
  assertUniqueSubs(users);

  // Load and generate before listening so a failure here leaves no open port.
  const [oidc, signingKey] = await Promise.all([loadOidcProvider(), generateSigningKey()]);

  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    if (handler) {
      handler(req, res);
    } else {
      res.writeHead(503, { "Content-Type": "text/plain; charset=utf-8", "Retry-After": "1" }).end("Starting up\n");
    }
  });

  const address = await listen(server, options.port, host);
  // "localhost" is resolved by the OS; make sure it really ended up on loopback.
  if (!isLoopbackHost(address.address)) {
    await closeServer(server);
    throw new Error(`"${host}" resolved to the non-loopback address ${address.address}; refusing to serve the development OIDC provider there.`);
  }

  const issuer = `http://${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}`;
  const store = new MemoryStore();

  try {
    const provider = new oidc.Provider(issuer, buildConfiguration(oidc, options, users, store, signingKey));
    // oidc-provider only reports unexpected failures through this event (and
    // the `debug` module); keep them visible, since they are real bugs.
    provider.on("server_error", (_ctx, error) => {
      console.error("[dev-oidc] internal error in the development OIDC provider:", error);
    });

    const providerCallback = provider.callback();
    handler = (req, res) => {
      const route = matchInteractionRoute(req.url);
      if (!route) {
        void providerCallback(req, res);
        return;
      }
      handleInteraction(provider, users, route, req, res).catch((error: unknown) => {
        sendInteractionError(res, error);
      });
    };
  } catch (error) {
    await closeServer(server);
    throw error;
  }

  let closing: Promise<void> | undefined;
  return {
    issuer,
    close() {
      closing ??= closeServer(server).finally(() => store.clear());
      return closing;
    },
  };
}

// ---------------------------------------------------------------------------
// Configuration

function buildConfiguration(
  oidc: typeof OidcProviderModule,
  options: DevOidcOptions,
  users: readonly DemoUser[],
  store: MemoryStore,
  signingKey: JWK,
): Configuration {
  const { Check } = oidc.interactionPolicy;
  const policy = oidc.interactionPolicy.base();
  // Picking a persona is the point of this provider, so every authorization
  // request shows the user list, even with a live provider session; otherwise
  // the browser would silently come back as whoever signed in last. The
  // resume step after the page (which carries a login result) passes.
  policy
    .get("login")
    ?.checks.add(
      new Check("demo_user_selection", "a demo user must be chosen for every sign-in", (ctx) =>
        ctx.oidc.result?.login ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT,
      ),
    );

  // Plain http on loopback: cookies cannot be `secure`, and `lax` is what the
  // top-level redirects between Lifeboat and this provider need.
  const cookieOptions: CookiesSetOptions = { httpOnly: true, sameSite: "lax", secure: false, signed: true };

  return {
    adapter: (model) => store.adapterFor(model),
    clients: [
      {
        client_id: options.clientId,
        client_secret: options.clientSecret,
        client_name: "Lifeboat",
        redirect_uris: [...options.redirectUris],
        ...(options.postLogoutRedirectUris?.length ? { post_logout_redirect_uris: [...options.postLogoutRedirectUris] } : {}),
        response_types: ["code"],
        grant_types: ["authorization_code"],
        // oidc-provider accepts client_secret_post too for a client registered
        // with client_secret_basic (both carry the same shared secret).
        token_endpoint_auth_method: "client_secret_basic",
      },
    ],
    clientAuthMethods: ["client_secret_basic", "client_secret_post"],
    // Lifeboat talks to the token and userinfo endpoints from its server,
    // never from the browser.
    clientBasedCORS: () => false,
    claims: CLAIMS,
    scopes: [...SCOPES],
    // next-auth v4 reads the profile from the ID token only, so the claims of
    // every granted scope go into it rather than only into userinfo.
    conformIdTokenClaims: false,
    cookies: {
      keys: [...options.cookieKeys],
      names: COOKIE_NAMES,
      long: cookieOptions,
      short: cookieOptions,
    },
    features: {
      devInteractions: { enabled: false },
      // Not needed by Lifeboat; off so discovery advertises only what is used.
      dPoP: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      resourceIndicators: { enabled: false },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          ctx.type = "html";
          ctx.body = renderLogoutPage(form, LOGOUT_FORM_ID);
        },
        async postLogoutSuccessSource(ctx) {
          ctx.type = "html";
          ctx.body = renderMessagePage("Signed out", [`You are signed out of the ${PROVIDER_TITLE}.`]);
        },
      },
    },
    async findAccount(_ctx, sub) {
      const user = users.find((candidate) => candidate.sub === sub);
      if (!user) return undefined;
      return {
        accountId: user.sub,
        // oidc-provider filters these down to what the granted scopes allow.
        async claims() {
          return {
            sub: user.sub,
            email: user.email,
            email_verified: true,
            name: user.name,
            groups: [...user.groups],
          };
        },
      };
    },
    interactions: {
      policy,
      url: async (_ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    jwks: { keys: [signingKey] },
    pkce: { required: () => true },
    async renderError(ctx, out) {
      ctx.type = "html";
      const description = typeof out.error_description === "string" ? out.error_description : undefined;
      ctx.body = renderMessagePage("Sign-in error", [
        `The ${PROVIDER_TITLE} could not complete the request (${String(out.error ?? "error")}).`,
        ...(description ? [description] : []),
        "Return to Lifeboat and try again.",
      ]);
    },
    responseTypes: ["code"],
    // Set explicitly: oidc-provider prints a notice for each default TTL it uses.
    ttl: { ...TTL },
  };
}

// ---------------------------------------------------------------------------
// Interaction (sign-in page) routes

interface InteractionRoute {
  uid: string;
  action: "page" | "login" | "abort";
}

const INTERACTION_PATH = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|abort))?\/?$/;

function matchInteractionRoute(url: string | undefined): InteractionRoute | undefined {
  const pathname = new URL(url ?? "/", "http://dev-oidc.invalid").pathname;
  const match = INTERACTION_PATH.exec(pathname);
  if (!match?.[1]) return undefined;
  const action = match[2] === "login" || match[2] === "abort" ? match[2] : "page";
  return { uid: match[1], action };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly heading: string,
    message: string,
  ) {
    super(message);
  }
}

async function handleInteraction(
  provider: Provider,
  users: readonly DemoUser[],
  route: InteractionRoute,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const expected = route.action === "page" ? "GET" : "POST";
  if (req.method !== expected && !(expected === "GET" && req.method === "HEAD")) {
    res.setHeader("Allow", expected === "GET" ? "GET, HEAD" : "POST");
    throw new HttpError(405, "Method not allowed", `Use ${expected} for this address.`);
  }

  const details = await provider.interactionDetails(req, res);
  // The interaction cookie is path-scoped to this uid, but a stale tab could
  // still post to an older one; never act on a different request than shown.
  if (details.uid !== route.uid) {
    throw new HttpError(400, "Sign-in request expired", "This sign-in request is no longer active.");
  }

  switch (route.action) {
    case "page": {
      if (details.prompt.name === "consent") {
        // First-party client: consent is implied, so never show a consent screen.
        const accountId = details.session?.accountId;
        if (!accountId) throw new HttpError(400, "Sign-in request expired", "There is no signed-in user to continue as.");
        const grantId = await grantRequestedScopes(provider, details, accountId);
        await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
        return;
      }
      if (details.prompt.name !== "login") {
        throw new HttpError(400, "Unsupported request", `The ${PROVIDER_TITLE} cannot handle the "${details.prompt.name}" prompt.`);
      }
      sendPage(
        res,
        200,
        renderSignInPage({
          users,
          loginAction: `/interaction/${details.uid}/login`,
          abortAction: `/interaction/${details.uid}/abort`,
          clientName: "Lifeboat",
        }),
      );
      return;
    }
    case "login": {
      if (details.prompt.name !== "login") {
        throw new HttpError(400, "Sign-in request expired", "This sign-in request is not waiting for a user.");
      }
      const form = await readForm(req);
      const sub = form.get("sub");
      const user = users.find((candidate) => candidate.sub === sub);
      if (!user) {
        throw new HttpError(400, "Unknown demo user", "Choose one of the demo users listed on the sign-in page.");
      }
      // Login and consent are settled in one step, so the browser goes
      // straight back to the client's redirect_uri.
      const grantId = await grantRequestedScopes(provider, details, user.sub);
      await provider.interactionFinished(req, res, { login: { accountId: user.sub }, consent: { grantId } }, { mergeWithLastSubmission: false });
      return;
    }
    case "abort": {
      // Drain the (empty) form so the connection can be reused.
      await readForm(req);
      await provider.interactionFinished(
        req,
        res,
        { error: "access_denied", error_description: "End-User aborted interaction" },
        { mergeWithLastSubmission: false },
      );
      return;
    }
  }
}

async function grantRequestedScopes(provider: Provider, details: Interaction, accountId: string): Promise<string> {
  const clientId = details.params.client_id;
  if (typeof clientId !== "string") {
    throw new HttpError(400, "Sign-in request expired", "The sign-in request has no client.");
  }
  // A fresh grant each time: the previous one may belong to another demo user.
  const grant = new provider.Grant({ accountId, clientId });
  const requested = typeof details.params.scope === "string" ? details.params.scope.split(" ") : [];
  const scopes = requested.filter((scope): scope is (typeof SCOPES)[number] => (SCOPES as readonly string[]).includes(scope));
  if (scopes.length) grant.addOIDCScope(scopes.join(" "));
  return grant.save();
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const contentType = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_FORM_BYTES) throw new HttpError(413, "Request too large", "The submitted form is too large.");
    chunks.push(buffer);
  }
  if (size === 0) return new URLSearchParams();
  if (contentType !== "application/x-www-form-urlencoded") {
    throw new HttpError(415, "Unsupported form", "Submit the sign-in form from the sign-in page.");
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

function sendPage(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, PAGE_HEADERS).end(html);
}

function sendInteractionError(res: ServerResponse, error: unknown): void {
  let status = 500;
  let heading = "Something went wrong";
  let message = "The development sign-in page failed unexpectedly. Return to Lifeboat and try again.";

  if (error instanceof HttpError) {
    ({ status, heading, message } = error);
  } else if (isOidcError(error)) {
    // Typically SessionNotFound: the interaction cookie is missing or the
    // request expired (or was already completed in another tab).
    status = error.statusCode;
    heading = "Sign-in request expired";
    message = "This sign-in request is no longer valid. It may have expired or already been completed. Return to Lifeboat and sign in again.";
  } else {
    console.error("[dev-oidc] sign-in page error:", error);
  }

  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendPage(res, status, renderMessagePage(heading, [message]));
}

function isOidcError(error: unknown): error is Error & { statusCode: number; error: string } {
  return (
    error instanceof Error && typeof (error as { statusCode?: unknown }).statusCode === "number" && typeof (error as { error?: unknown }).error === "string"
  );
}

// ---------------------------------------------------------------------------
// Helpers

function validateOptions(options: DevOidcOptions): void {
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new Error(`Invalid port for the development OIDC provider: ${options.port}`);
  }
  if (!options.clientId) throw new Error("The development OIDC provider needs a clientId.");
  if (!options.clientSecret) throw new Error("The development OIDC provider needs a clientSecret.");
  if (!options.redirectUris.length) throw new Error("The development OIDC provider needs at least one redirect URI.");
  if (!options.cookieKeys.length || options.cookieKeys.some((key) => !key)) {
    throw new Error("The development OIDC provider needs at least one non-empty cookie key.");
  }
}

function assertUniqueSubs(users: readonly DemoUser[]): void {
  if (!users.length) throw new Error("The development OIDC provider needs at least one user.");
  const seen = new Set<string>();
  for (const { sub } of users) {
    if (!sub || seen.has(sub)) throw new Error(`Demo user subjects must be unique and non-empty (got "${sub}").`);
    seen.add(sub);
  }
}

const generateKeyPairAsync = promisify(generateKeyPair);

/**
 * A fresh signing key per start. oidc-provider's built-in fallback is a
 * publicly known key (and warns about it); a per-process key costs ~100 ms.
 * Consequence: ID tokens issued before a restart no longer verify, so an old
 * id_token_hint at the logout endpoint is rejected after one.
 */
async function generateSigningKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPairAsync("rsa", { modulusLength: 2048 });
  return { ...privateKey.export({ format: "jwk" }), use: "sig", alg: "RS256" };
}

let oidcModule: Promise<typeof OidcProviderModule> | undefined;

/**
 * oidc-provider prints an "Unsupported runtime" warning on import under Node
 * 20 (it targets Node 22+). Lifeboat supports Node 20, so that line is noise on
 * every start; everything else printed during the import still goes through.
 */
function loadOidcProvider(): Promise<typeof OidcProviderModule> {
  oidcModule ??= (async () => {
    const original = console.warn;
    const filtered = (...args: unknown[]): void => {
      const [first] = args;
      if (typeof first === "string" && first.includes("oidc-provider WARNING: Unsupported runtime")) return;
      original.apply(console, args);
    };
    console.warn = filtered;
    try {
      return await import("oidc-provider");
    } finally {
      if (console.warn === filtered) console.warn = original;
    }
  })();
  oidcModule.catch(() => {
    oidcModule = undefined;
  });
  return oidcModule;
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      server.off("listening", onListening);
      reject(error);
    };
    const onListening = (): void => {
      server.off("error", onError);
      const address = server.address();
      if (address === null || typeof address === "string") {
        reject(new Error("The development OIDC provider did not get a TCP address."));
        return;
      }
      resolve(address);
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(port, host);
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close((error) => (error ? reject(error) : resolve()));
    // close() waits for keep-alive sockets (browsers, fetch's pool) to go idle
    // and time out; drop them so tests and restarts don't hang.
    server.closeAllConnections();
  });
}
