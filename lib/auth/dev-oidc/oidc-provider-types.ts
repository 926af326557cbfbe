/**
 * The slice of oidc-provider's API this module uses. oidc-provider 9 ships no
 * type declarations, and an ambient `declare module "oidc-provider"` would leak
 * into (and could clash with) the rest of the repo, so the module is loaded
 * through a dynamic import and typed against these interfaces instead.
 */
import type { IncomingMessage, ServerResponse } from "node:http";

export type AdapterPayload = Record<string, unknown>;

export interface OidcAdapter {
  upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void>;
  find(id: string): Promise<AdapterPayload | undefined>;
  findByUid(uid: string): Promise<AdapterPayload | undefined>;
  findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
  consume(id: string): Promise<void>;
  destroy(id: string): Promise<void>;
  revokeByGrantId(grantId: string): Promise<void>;
}

export interface InteractionResults {
  login?: { accountId: string; remember?: boolean };
  consent?: { grantId: string };
  error?: string;
  error_description?: string;
}

export interface InteractionDetails {
  uid: string;
  prompt: { name: string; reasons: string[]; details: Record<string, unknown> };
  params: Record<string, unknown>;
  session?: { accountId?: string; uid?: string };
  grantId?: string;
  returnTo: string;
}

/** The Koa context oidc-provider hands to configuration callbacks. */
export interface OidcContext {
  type: string;
  body: unknown;
  status: number;
  oidc: {
    client?: { clientId: string; clientName?: string };
    result?: InteractionResults;
  };
}

export interface OidcAccount {
  accountId: string;
  claims(use: string, scope: string): Promise<Record<string, unknown>>;
}

export interface OidcGrant {
  addOIDCScope(scope: string): void;
  save(): Promise<string>;
}

export interface OidcCheck {
  readonly reason: string;
}

export interface OidcPrompt {
  readonly name: string;
  readonly checks: { add(check: OidcCheck, index?: number): void };
}

export interface OidcInteractionPolicy extends Array<OidcPrompt> {
  get(name: string): OidcPrompt | undefined;
}

export interface OidcClientMetadata {
  client_id: string;
  client_secret: string;
  client_name?: string;
  redirect_uris: string[];
  post_logout_redirect_uris?: string[];
  response_types: string[];
  grant_types: string[];
  token_endpoint_auth_method: "client_secret_basic" | "client_secret_post";
}

export interface OidcCookieOptions {
  httpOnly: boolean;
  sameSite: "lax" | "strict" | "none";
  secure: boolean;
  signed: boolean;
}

type Ttl = number | ((ctx: OidcContext, ...rest: unknown[]) => number);

export interface OidcConfiguration {
  adapter: (model: string) => OidcAdapter;
  clients: OidcClientMetadata[];
  clientAuthMethods: string[];
  clientBasedCORS: (ctx: OidcContext, origin: string, client: unknown) => boolean;
  claims: Record<string, string[]>;
  scopes: string[];
  conformIdTokenClaims: boolean;
  cookies: {
    keys: string[];
    names: { session: string; interaction: string; resume: string };
    long: OidcCookieOptions;
    short: OidcCookieOptions;
  };
  features: {
    devInteractions: { enabled: boolean };
    dPoP: { enabled: boolean };
    pushedAuthorizationRequests: { enabled: boolean };
    resourceIndicators: { enabled: boolean };
    userinfo: { enabled: boolean };
    rpInitiatedLogout: {
      enabled: boolean;
      logoutSource: (ctx: OidcContext, form: string) => Promise<void>;
      postLogoutSuccessSource: (ctx: OidcContext) => Promise<void>;
    };
  };
  findAccount: (ctx: OidcContext, sub: string) => Promise<OidcAccount | undefined>;
  interactions: {
    policy: OidcInteractionPolicy;
    url: (ctx: OidcContext, interaction: { uid: string }) => Promise<string>;
  };
  jwks: { keys: Record<string, unknown>[] };
  pkce: { required: () => boolean };
  renderError: (ctx: OidcContext, out: Record<string, unknown>, error: unknown) => Promise<void>;
  responseTypes: string[];
  ttl: Record<string, Ttl>;
}

export interface OidcProvider {
  readonly issuer: string;
  callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
  interactionFinished(req: IncomingMessage, res: ServerResponse, result: InteractionResults, options?: { mergeWithLastSubmission?: boolean }): Promise<void>;
  readonly Grant: new (init: { accountId: string; clientId: string }) => OidcGrant;
  on(event: "server_error", listener: (ctx: unknown, error: unknown) => void): unknown;
}

export interface OidcProviderModule {
  Provider: new (issuer: string, configuration: OidcConfiguration) => OidcProvider;
  interactionPolicy: {
    base(): OidcInteractionPolicy;
    Check: (new (reason: string, description: string, check: (ctx: OidcContext) => boolean | Promise<boolean>) => OidcCheck) & {
      readonly REQUEST_PROMPT: boolean;
      readonly NO_NEED_TO_PROMPT: boolean;
    };
  };
}
