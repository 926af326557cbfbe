import { getToken } from "next-auth/jwt";
import { NextResponse } from "next/server";
import type { NextRequest } from "next/server";

/**
 * Coarse redirect of pages to sign-in, keeping where the person was going.
 * Every page checks the session again itself; API, upload and download routes
 * are never matched here (this layer buffers bodies and cuts them at 10 MB)
 * and answer 401 JSON from their own handlers.
 */
// Read at run time: a literal process.env.NAME could be inlined at build time.
const SECRET_ENV = "NEXTAUTH_SECRET";

export async function proxy(request: NextRequest) {
  const token = await getToken({ req: request, secret: process.env[SECRET_ENV] });
  if (token) return NextResponse.next();
  const signIn = new URL("/signin", request.url);
  signIn.searchParams.set("callbackUrl", `${request.nextUrl.pathname}${request.nextUrl.search}`);
  return NextResponse.redirect(signIn);
}

export const config = {
  matcher: ["/((?!api/|backup/|signin|_next/|favicon.ico|robots.txt).*)"],
};
