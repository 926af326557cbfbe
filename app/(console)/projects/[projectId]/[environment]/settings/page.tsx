import type { Metadata } from "next";
import { notFound } from "next/navigation";

import { canViewEnvironmentSettings } from "@/lib/auth/permissions";
import { findVisibleEnvironment, requirePageActor } from "@/lib/auth/session";

import { EnvironmentHeader } from "../environment-header";

type Params = { projectId: string; environment: string };

export const metadata: Metadata = { title: "Environment settings" };

function Row({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="grid grid-cols-3 gap-4 py-3">
      <dt className="text-sm font-medium text-slate-600">{label}</dt>
      <dd className="col-span-2 text-sm">{children}</dd>
    </div>
  );
}

const NOT_SET = <span className="text-slate-400">Not set</span>;

export default async function EnvironmentSettingsPage({ params }: { params: Promise<Params> }) {
  const { projectId, environment: name } = await params;
  const actor = await requirePageActor();
  const environment = await findVisibleEnvironment(actor, projectId, name);
  if (!environment) notFound();
  if (!canViewEnvironmentSettings(actor, environment)) {
    return (
      <div role="alert" className="rounded-md bg-red-50 p-4 text-red-800">
        Only administrators of {projectId}-{environment.name} can see its settings.
      </div>
    );
  }

  const source = environment.dbHost
    ? `${environment.dbEngine ?? "?"}://${environment.dbUser ?? ""}${environment.dbPasswordEncrypted ? ":••••••" : ""}@${environment.dbHost}:${environment.dbPort ?? ""}/${environment.dbName ?? ""}`
    : null;

  return (
    <div className="space-y-6">
      <EnvironmentHeader actor={actor} environment={environment} current="settings" />
      <h2 className="text-lg font-semibold">Settings of {environment.name}</h2>
      <dl className="divide-y divide-slate-200 rounded-lg border border-slate-200 bg-white px-5">
        <Row label="Database engine">{environment.dbEngine ?? NOT_SET}</Row>
        <Row label="Database source">{source ? <code>{source}</code> : NOT_SET}</Row>
        <Row label="Volume folder">{environment.volumePath ? <code>{environment.volumePath}</code> : NOT_SET}</Row>
        <Row label="Schedule (cron, UTC)">{environment.scheduleCron ? <code>{environment.scheduleCron}</code> : NOT_SET}</Row>
        <Row label="Keep count">{environment.retentionKeepCount ?? NOT_SET}</Row>
        <Row label="Keep days">{environment.retentionDays ?? NOT_SET}</Row>
        <Row label="Excluded tables">{environment.excludedTables.length ? environment.excludedTables.join(", ") : NOT_SET}</Row>
        <Row label="Databases to ignore">
          {environment.databasesToIgnore.length ? environment.databasesToIgnore.join(", ") : NOT_SET}
        </Row>
      </dl>
    </div>
  );
}
