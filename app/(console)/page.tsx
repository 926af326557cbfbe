import type { Metadata } from "next";
import Link from "next/link";

import { Badge } from "@/components/ui/badge";
import { RoleBadge } from "@/components/role-badge";
import { canViewEnvironmentSettings } from "@/lib/auth/permissions";
import { listVisibleEnvironments } from "@/lib/environments/visible";
import { requirePageActor } from "@/lib/http/current-actor";
import { getDb } from "@/lib/db/client";
import { listProjects } from "@/lib/db/queries/projects";

export const metadata: Metadata = { title: "Environments" };

export default async function HomePage() {
  const actor = await requirePageActor();
  const [environments, projects] = await Promise.all([listVisibleEnvironments(actor), listProjects(getDb())]);
  const visibleProjects = projects.filter((p) => environments.some((e) => e.projectId === p.id));

  if (visibleProjects.length === 0) {
    return (
      <section aria-labelledby="no-access">
        <h1 id="no-access" className="text-2xl font-semibold">
          No environments yet
        </h1>
        <p className="mt-2 max-w-prose text-slate-600">
          You are signed in, but none of your groups ({actor.groups.join(", ") || "none"}) has a role in any environment. Ask an administrator to bind one of
          your groups to an environment.
        </p>
      </section>
    );
  }

  return (
    <div className="space-y-10">
      {visibleProjects.map((project) => (
        <section key={project.id} aria-labelledby={`project-${project.id}`}>
          <h1 id={`project-${project.id}`} className="text-2xl font-semibold">
            {project.name} <span className="text-base font-normal text-slate-500">({project.id})</span>
          </h1>
          <ul className="mt-4 grid gap-4 sm:grid-cols-2 lg:grid-cols-3" aria-label={`Environments of ${project.name}`}>
            {environments
              .filter((env) => env.projectId === project.id)
              .map((env) => (
                <li key={env.id} className="rounded-lg border border-slate-200 bg-white p-5 shadow-sm">
                  <div className="flex items-start justify-between gap-2">
                    <h2 className="text-lg font-semibold">
                      <Link href={`/projects/${env.projectId}/${env.name}`} className="hover:underline">
                        {env.name}
                      </Link>
                    </h2>
                    <div className="flex gap-1">
                      {env.isProduction && <Badge tone="production">Production</Badge>}
                      <RoleBadge actor={actor} environment={env} />
                    </div>
                  </div>
                  <p className="mt-1 text-sm text-slate-600">{env.displayName}</p>
                  <div className="mt-4 flex gap-3 text-sm">
                    <Link className="font-medium text-blue-700 hover:underline" href={`/projects/${env.projectId}/${env.name}`}>
                      Open
                    </Link>
                    {canViewEnvironmentSettings(actor, env) && (
                      <Link
                        className="font-medium text-blue-700 hover:underline"
                        href={`/projects/${env.projectId}/${env.name}/settings`}
                        aria-label={`Settings of ${env.name}`}
                      >
                        Settings
                      </Link>
                    )}
                  </div>
                </li>
              ))}
          </ul>
        </section>
      ))}
    </div>
  );
}
