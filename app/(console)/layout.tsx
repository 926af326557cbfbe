import Link from "next/link";
import type { ReactNode } from "react";

import { requirePageActor } from "@/lib/http/current-actor";

import { SignOutButton } from "./sign-out-button";

export default async function ConsoleLayout({ children }: { children: ReactNode }) {
  const actor = await requirePageActor();
  return (
    <div className="min-h-screen">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:bg-white focus:p-2">
        Skip to content
      </a>
      <header className="border-b border-slate-200 bg-white">
        <div className="mx-auto flex max-w-6xl items-center justify-between gap-4 px-6 py-3">
          <Link href="/" className="text-lg font-semibold tracking-tight">
            Lifeboat
          </Link>
          <div className="flex items-center gap-3 text-sm">
            <Link href="/tokens" className="text-slate-700 hover:underline">
              API tokens
            </Link>
            <span aria-label="Signed in as">
              <span className="font-medium">{actor.name ?? actor.email}</span>
              <span className="ml-2 text-slate-500">{actor.email}</span>
            </span>
            <SignOutButton />
          </div>
        </div>
      </header>
      <main id="main" className="mx-auto max-w-6xl px-6 py-8">
        {children}
      </main>
    </div>
  );
}
