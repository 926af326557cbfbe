import type { Metadata } from "next";

import { listVisibleEnvironments } from "@/lib/environments/visible";
import { requirePageActor } from "@/lib/http/current-actor";

import { TokensManager } from "./tokens-manager";

export const metadata: Metadata = { title: "API tokens" };

export default async function TokensPage() {
  const actor = await requirePageActor();
  const environments = await listVisibleEnvironments(actor);

  return (
    <div className="space-y-8">
      <div>
        <h1 className="text-2xl font-semibold">API tokens</h1>
        <p className="mt-1 max-w-prose text-sm text-slate-600">
          Scripts, CI and the CLI use a personal token instead of SSO. A token acts as you, with your roles as of your last sign-in, and can be limited to one
          environment. Send it as <code>dxpcloud-authorization: Bearer &lt;token&gt;</code>, <code>Authorization: Bearer &lt;token&gt;</code>, or as the
          password of basic auth: <code>curl -u {actor.email}:&lt;token&gt;</code>.
        </p>
      </div>
      <TokensManager environments={environments.map((env) => ({ project: env.projectId, name: env.name, isProduction: env.isProduction }))} />
    </div>
  );
}
