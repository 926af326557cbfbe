import type { AuthOptions, Profile } from "next-auth";

import { getConfig } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import { recordAuditEvent } from "@/lib/db/queries/audit";
import { upsertUserOnSignIn } from "@/lib/db/queries/users";
import { logger } from "@/lib/logger";

import { DEV_ISSUER_ENV, developmentClient } from "./secret";
import { createAuthSession, revokeAuthSession, SESSION_MAX_AGE_SECONDS } from "./sessions";

export const SSO_PROVIDER_ID = "sso";

declare module "next-auth" {
  interface Session {
    user: { id: string; email: string; name: string | null; groups: string[] };
  }
}

declare module "next-auth/jwt" {
  interface JWT {
    groups?: string[];
    /** The session's server-side record (./sessions.ts): revoked at sign-out, checked on every request. */
    sid?: string;
  }
}

/** Groups may arrive as an array, a single string, or a space/comma separated string, depending on the IdP. */
export function extractGroups(claim: unknown): string[] {
  if (Array.isArray(claim)) return claim.filter((g): g is string => typeof g === "string" && g.length > 0);
  if (typeof claim === "string") return claim.split(/[\s,]+/).filter(Boolean);
  return [];
}

function buildAuthOptions(): AuthOptions {
  const config = getConfig();
  const secret = process.env.NEXTAUTH_SECRET;
  if (!secret) throw new Error("NEXTAUTH_SECRET is not set: start Lifeboat through server.ts");

  let issuer: string;
  let client: { clientId: string; clientSecret: string };
  if (config.oidc.kind === "external") {
    issuer = config.oidc.issuer;
    client = { clientId: config.oidc.clientId, clientSecret: config.oidc.clientSecret };
  } else {
    const devIssuer = process.env[DEV_ISSUER_ENV];
    if (!devIssuer) throw new Error(`${DEV_ISSUER_ENV} is not set: the development sign-in did not start`);
    issuer = devIssuer;
    client = developmentClient(secret);
  }
  const { groupsClaim } = config.oidc;

  return {
    secret,
    session: { strategy: "jwt", maxAge: SESSION_MAX_AGE_SECONDS },
    pages: { signIn: "/signin", error: "/signin" },
    providers: [
      {
        id: SSO_PROVIDER_ID,
        name: config.oidc.name,
        type: "oauth",
        wellKnown: `${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`,
        clientId: client.clientId,
        clientSecret: client.clientSecret,
        // The development provider remembers who signed in; asking again lets
        // a person switch between the demo users after signing out.
        authorization: { params: { scope: config.oidc.scopes, ...(config.oidc.kind === "development" ? { prompt: "login" } : {}) } },
        idToken: true,
        checks: ["pkce", "state"],
        profile(profile: Profile & Record<string, unknown>) {
          return {
            id: String(profile.sub),
            email: typeof profile.email === "string" ? profile.email : null,
            name: typeof profile.name === "string" ? profile.name : null,
          };
        },
      },
    ],
    callbacks: {
      signIn({ user }) {
        // Every audit line and token names a person by e-mail.
        return Boolean(user.email);
      },
      async jwt({ token, profile }) {
        if (profile) {
          const claims = profile as Record<string, unknown>;
          token.groups = extractGroups(claims[groupsClaim]);
          const db = getDb();
          await upsertUserOnSignIn(db, {
            id: String(token.sub),
            email: String(token.email),
            name: token.name ?? null,
            groups: token.groups,
          });
          token.sid = await createAuthSession(db, { userId: String(token.sub), maxAgeSeconds: SESSION_MAX_AGE_SECONDS });
          await recordAuditEvent(db, { actor: String(token.email), actorType: "user", action: "auth.sign_in", detail: { groups: token.groups } });
        }
        return token;
      },
      session({ session, token }) {
        session.user = {
          id: String(token.sub),
          email: String(token.email),
          name: token.name ?? null,
          groups: token.groups ?? [],
        };
        return session;
      },
    },
    events: {
      // The cookie is deleted by next-auth; the record makes sure a copy of it is worth nothing too, on every instance.
      async signOut({ token }) {
        if (typeof token?.sid !== "string") return;
        const db = getDb();
        await revokeAuthSession(db, { id: token.sid });
        await recordAuditEvent(db, { actor: String(token.email), actorType: "user", action: "auth.sign_out", detail: {} });
      },
    },
    logger: {
      error: (code, metadata) => logger.error({ code, metadata }, "next-auth error"),
      warn: (code) => logger.warn({ code }, "next-auth warning"),
      debug: () => {},
    },
  };
}

let cached: AuthOptions | undefined;

/** Built on first use: the development issuer is only known once server.ts has started it. */
export function getAuthOptions(): AuthOptions {
  cached ??= buildAuthOptions();
  return cached;
}
