import { getToken } from "next-auth/jwt";
import { NextResponse } from "next/server";
import type { NextRequest } from "next/server";

/**
 * Every page: a Content-Security-Policy with a fresh nonce (Next.js puts it
 * on its own scripts when it finds it in the request's CSP header), and for
 * the console's pages a coarse redirect to sign-in that keeps where the
 * person was going. Every page checks the session again itself; API, upload
 * and download routes are never matched here (this layer buffers bodies and
 * cuts them at 10 MB) and answer 401 JSON from their own handlers.
 */
// Read at run time: a literal process.env.NAME could be inlined at build time.
const SECRET_ENV = "NEXTAUTH_SECRET";
const NODE_ENV = "NODE_ENV";

function contentSecurityPolicy(nonce: string): string {
  // Next's development server evaluates code for hot reloading; a production build never does.
  const devEval = process.env[NODE_ENV] === "development" ? " 'unsafe-eval'" : "";
  return [
    "default-src 'self'",
    // strict-dynamic: scripts the nonce'd ones load are trusted, nothing else is (no inline script, no other host).
    // wasm-unsafe-eval: the upload's SHA-256 runs in WebAssembly (hash-wasm); it lets WebAssembly compile, not JavaScript be evaluated.
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic' 'wasm-unsafe-eval'${devEval}`,
    // React's style attributes (progress bars) are inline; styles cannot run code.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

export async function proxy(request: NextRequest) {
  const nonce = btoa(crypto.randomUUID());
  const csp = contentSecurityPolicy(nonce);
  const withPolicy = (response: NextResponse) => {
    response.headers.set("content-security-policy", csp);
    return response;
  };

  if (!request.nextUrl.pathname.startsWith("/signin")) {
    const token = await getToken({ req: request, secret: process.env[SECRET_ENV] });
    if (!token) {
      const signIn = new URL("/signin", request.url);
      signIn.searchParams.set("callbackUrl", `${request.nextUrl.pathname}${request.nextUrl.search}`);
      return withPolicy(NextResponse.redirect(signIn));
    }
  }
  const headers = new Headers(request.headers);
  headers.set("content-security-policy", csp);
  headers.set("x-nonce", nonce);
  return withPolicy(NextResponse.next({ request: { headers } }));
}

export const config = {
  matcher: ["/((?!api/|backup/|_next/static|_next/image|favicon.ico|robots.txt).*)"],
};
