"use client";

import { signIn } from "next-auth/react";
import { useState } from "react";

import { Button } from "@/components/ui/button";

export function SignInButton({ callbackUrl, providerName }: { callbackUrl: string; providerName: string }) {
  const [pending, setPending] = useState(false);
  return (
    <Button
      className="mt-6 w-full"
      disabled={pending}
      aria-busy={pending}
      onClick={() => {
        setPending(true);
        void signIn("sso", { callbackUrl });
      }}
    >
      {pending ? "Redirecting…" : `Sign in with ${providerName}`}
    </Button>
  );
}
