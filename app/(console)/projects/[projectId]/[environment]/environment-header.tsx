import Link from "next/link";

import { Badge } from "@/components/ui/badge";
import type { Actor } from "@/lib/auth/permissions";
import { RoleBadge } from "@/components/role-badge";
import { canViewEnvironmentSettings } from "@/lib/auth/permissions";
import type { Environment } from "@/lib/db/schema";

const TABS = [
  { segment: "backups", label: "Backups", adminOnly: false },
  { segment: "activity", label: "Activity", adminOnly: false },
  { segment: "settings", label: "Settings", adminOnly: true },
] as const;

/** Breadcrumb, title, badges and the environment's tabs, shared by its pages. */
export function EnvironmentHeader({ actor, environment, current }: { actor: Actor; environment: Environment; current: (typeof TABS)[number]["segment"] }) {
  const base = `/projects/${environment.projectId}/${environment.name}`;
  return (
    <header>
      <nav aria-label="Breadcrumb" className="text-sm text-slate-500">
        <Link href="/" className="hover:underline">
          {environment.projectId}
        </Link>{" "}
        / {environment.name}
      </nav>
      <div className="mt-2 flex flex-wrap items-center gap-3">
        <h1 className="text-2xl font-semibold">
          {environment.projectId}-{environment.name}
        </h1>
        <span className="text-slate-500">{environment.displayName}</span>
        {environment.isProduction && <Badge tone="production">Production</Badge>}
        <RoleBadge actor={actor} environment={environment} />
      </div>
      <nav aria-label="Environment" className="mt-4 flex gap-4 border-b border-slate-200">
        {TABS.filter((tab) => !tab.adminOnly || canViewEnvironmentSettings(actor, environment)).map((tab) => (
          <Link
            key={tab.segment}
            href={`${base}/${tab.segment}`}
            aria-current={tab.segment === current ? "page" : undefined}
            className={`-mb-px border-b-2 px-1 pb-2 text-sm font-medium ${
              tab.segment === current ? "border-blue-600 text-blue-700" : "border-transparent text-slate-600 hover:text-slate-900"
            }`}
          >
            {tab.label}
          </Link>
        ))}
      </nav>
    </header>
  );
}
