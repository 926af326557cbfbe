import type { Metadata } from "next";
import { redirect } from "next/navigation";

import { getActor } from "@/lib/http/current-actor";
import { getConfig } from "@/lib/config";

import { SignInButton } from "./sign-in-button";

export const metadata: Metadata = { title: "Sign in" };

// next-auth's error codes, in words a person can act on.
const ERRORS: Record<string, string> = {
  AccessDenied: "Your identity provider did not let you in, or your account has no e-mail address.",
  OAuthCallback: "The identity provider's answer could not be verified. Please try again.",
  OAuthSignin: "Lifeboat could not reach the identity provider. Please try again in a moment.",
  Callback: "Signing in failed on our side. Please try again.",
  SessionRequired: "Please sign in to continue.",
};

function safeCallbackUrl(value: string | string[] | undefined): string {
  const url = Array.isArray(value) ? value[0] : value;
  // Only paths on this site: an open redirect would make the sign-in page a phishing tool.
  return url && url.startsWith("/") && !url.startsWith("//") ? url : "/";
}

export default async function SignInPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const params = await searchParams;
  const callbackUrl = safeCallbackUrl(params.callbackUrl);
  if (await getActor()) redirect(callbackUrl);
  const errorCode = typeof params.error === "string" ? params.error : undefined;
  const config = getConfig();

  return (
    <main className="flex min-h-screen items-center justify-center p-6">
      <div className="w-full max-w-sm rounded-xl border border-slate-200 bg-white p-8 shadow-sm">
        <h1 className="text-2xl font-semibold">Lifeboat</h1>
        <p className="mt-1 text-sm text-slate-600">Backups of your application environments.</p>
        {errorCode && (
          <p role="alert" className="mt-4 rounded-md bg-red-50 p-3 text-sm text-red-800">
            {ERRORS[errorCode] ?? "Signing in did not work. Please try again."}
          </p>
        )}
        <SignInButton callbackUrl={callbackUrl} providerName={config.oidc.name} />
        {config.oidc.kind === "development" && (
          <p className="mt-4 text-xs text-slate-500">
            This installation uses the built-in development sign-in with demo users. Set <code>OIDC_ISSUER</code> to use your company&apos;s identity provider.
          </p>
        )}
      </div>
    </main>
  );
}
