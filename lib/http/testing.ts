import { sameOriginHeaders, sessionCookie } from "@/lib/auth/testing";
import { getDb } from "@/lib/db/client";

/*
 * Calling Next route handlers in tests the way a browser or a script calls
 * them: the Request carries a real session cookie (and the Origin a page
 * of Lifeboat's sends with a change) or an API token. Nothing is mocked:
 * the handlers resolve the caller from the Request as in production.
 */

export interface RoutePerson {
  id: string;
  email: string;
  name: string | null;
  groups: string[];
}

export interface RouteCaller {
  /** The next requests carry this person's fresh session cookie. */
  signIn(person: RoutePerson): Promise<void>;
  /** The next requests carry no credentials. */
  signOut(): void;
  /** The next requests carry exactly these headers (an API token, a foreign Origin, …). */
  useHeaders(headers: Record<string, string>): void;
  /** A Request with the current credentials; a change sent with a cookie also gets the console's Origin unless it has one. */
  request(url: string, init?: RequestInit): Request;
}

export function routeCaller(): RouteCaller {
  // Sessions are signed with the secret server.ts would set; tests that care set their own first.
  process.env.NEXTAUTH_SECRET ??= "route-tests-secret-that-is-long-enough-0123456789";
  let current: Record<string, string> = {};
  return {
    async signIn(person) {
      current = { cookie: await sessionCookie(getDb(), { sub: person.id, email: person.email, name: person.name ?? person.email, groups: person.groups }) };
    },
    signOut() {
      current = {};
    },
    useHeaders(headers) {
      current = { ...headers };
    },
    request(url, init = {}) {
      const headers = new Headers(init.headers);
      for (const [name, value] of Object.entries(current)) if (!headers.has(name)) headers.set(name, value);
      const method = (init.method ?? "GET").toUpperCase();
      if (headers.has("cookie") && method !== "GET" && method !== "HEAD" && !headers.has("origin")) headers.set("origin", sameOriginHeaders().origin);
      return new Request(url, { ...init, headers });
    },
  };
}
