import type { Metadata } from "next";
import { notFound } from "next/navigation";

import { canViewEnvironmentSettings } from "@/lib/auth/permissions";
import { findVisibleEnvironment } from "@/lib/environments/visible";
import { requirePageActor } from "@/lib/http/current-actor";
import { getConfig } from "@/lib/config";
import { checkEnvironmentReadiness, getSourceNote } from "@/lib/environments/readiness";
import { toSettingsJson } from "@/lib/environments/settings";

import { EnvironmentHeader } from "../environment-header";
import { ReadinessPanel } from "../environment-readiness";
import { SettingsForm } from "./settings-form";

type Params = { projectId: string; environment: string };

export const metadata: Metadata = { title: "Environment settings" };

export default async function EnvironmentSettingsPage({ params }: { params: Promise<Params> }) {
  const { projectId, environment: name } = await params;
  const actor = await requirePageActor();
  const environment = await findVisibleEnvironment(actor, { projectId, environment: name });
  if (!environment) notFound();
  if (!canViewEnvironmentSettings(actor, environment)) {
    return (
      <div role="alert" className="rounded-md bg-red-50 p-4 text-red-800">
        Only administrators of {projectId}-{environment.name} and Lifeboat&apos;s operators can see its settings.
      </div>
    );
  }

  const settings = toSettingsJson(environment, actor);
  return (
    <div className="space-y-6">
      <EnvironmentHeader actor={actor} environment={environment} current="settings" />
      <h2 className="text-lg font-semibold">Settings of {environment.name}</h2>
      <ReadinessPanel
        readiness={await checkEnvironmentReadiness(environment, { connectTimeoutMs: 1_000, showSources: settings.sourcesVisible })}
        demo={getSourceNote(environment.id)?.demo}
      />
      <SettingsForm settings={settings} volumeRoots={settings.sourcesVisible ? getConfig().volumeRoots : []} />
    </div>
  );
}
