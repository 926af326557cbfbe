import { AppError } from "@/lib/errors";

/**
 * Credentials a script sends instead of a session cookie, in the Liferay
 * backup service's three forms: `dxpcloud-authorization: Bearer <token>`,
 * `Authorization: Bearer <token>`, or basic auth with the user's e-mail and a
 * token as the password (`curl -u user@domain.com:<token>`).
 */
export interface TokenCredentials {
  token: string;
  /** The basic-auth user name; must be the token owner's e-mail. */
  email?: string;
}

function malformed(message: string): AppError {
  return new AppError("unauthorized", message, undefined, { "www-authenticate": 'Bearer realm="lifeboat", Basic realm="lifeboat"' });
}

function bearer(value: string, header: string): TokenCredentials {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(value.trim());
  if (!match?.[1]) throw malformed(`The ${header} header is malformed: send "Bearer <token>".`);
  return { token: match[1] };
}

function basic(encoded: string): TokenCredentials {
  const decoded = Buffer.from(encoded.trim(), "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon <= 0)
    throw malformed("The Authorization header is malformed: basic auth needs your e-mail address and an API token, as in -u user@domain.com:<token>.");
  const email = decoded.slice(0, colon);
  const token = decoded.slice(colon + 1);
  if (!token.startsWith("lbt_")) {
    // Lifeboat never sees SSO passwords; say so rather than "wrong password".
    throw malformed("Basic auth takes an API token as the password, not your SSO password. Create a token on the Tokens page.");
  }
  return { email, token };
}

/** null when the request carries no credentials of this kind (it may still have a session cookie). */
export function credentialsFromHeaders(get: (name: string) => string | null | undefined): TokenCredentials | null {
  const dxp = get("dxpcloud-authorization");
  if (dxp) return bearer(dxp, "dxpcloud-authorization");
  const authorization = get("authorization");
  if (!authorization) return null;
  const scheme = /^(\S+)\s+(.*)$/.exec(authorization.trim());
  if (scheme?.[1]?.toLowerCase() === "bearer") return bearer(authorization, "Authorization");
  if (scheme?.[1]?.toLowerCase() === "basic" && scheme[2]) return basic(scheme[2]);
  throw malformed('The Authorization header is malformed: send "Bearer <token>" or basic auth with your e-mail and a token.');
}
