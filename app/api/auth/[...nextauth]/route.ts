import NextAuth from "next-auth";

import { getAuthOptions } from "@/lib/auth/options";

type Context = { params: Promise<{ nextauth: string[] }> };

// Options are built per request (once, then cached) because the development
// issuer's address is only known after server.ts has started it.
function handler(request: Request, context: Context) {
  return NextAuth(request as never, context as never, getAuthOptions()) as Promise<Response>;
}

export { handler as GET, handler as POST };
