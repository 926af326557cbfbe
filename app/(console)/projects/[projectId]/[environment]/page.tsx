import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";

import { Badge } from "@/components/ui/badge";
import { canViewEnvironmentSettings, roleIn } from "@/lib/auth/permissions";
import { findVisibleEnvironment, requirePageActor } from "@/lib/auth/session";

type Params = { projectId: string; environment: string };

export async function generateMetadata({ params }: { params: Promise<Params> }): Promise<Metadata> {
  const { projectId, environment } = await params;
  return { title: `${projectId}-${environment}` };
}

export default async function EnvironmentPage({ params }: { params: Promise<Params> }) {
  const { projectId, environment: name } = await params;
  const actor = await requirePageActor();
  const environment = await findVisibleEnvironment(actor, projectId, name);
  if (!environment) notFound();

  return (
    <div>
      <nav aria-label="Breadcrumb" className="text-sm text-slate-500">
        <Link href="/" className="hover:underline">
          {projectId}
        </Link>{" "}
        / {environment.name}
      </nav>
      <div className="mt-2 flex items-center gap-3">
        <h1 className="text-2xl font-semibold">{environment.displayName}</h1>
        {environment.isProduction && <Badge tone="production">Production</Badge>}
        <Badge tone={roleIn(actor, environment) === "admin" ? "admin" : "neutral"}>
          {roleIn(actor, environment) === "admin" ? "Administrator" : "Member"}
        </Badge>
      </div>
      {canViewEnvironmentSettings(actor, environment) && (
        <p className="mt-4">
          <Link className="font-medium text-blue-700 hover:underline" href={`/projects/${projectId}/${environment.name}/settings`}>
            Environment settings
          </Link>
        </p>
      )}
    </div>
  );
}
