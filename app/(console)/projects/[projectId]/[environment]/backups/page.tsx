import type { Metadata } from "next";
import { notFound } from "next/navigation";

import Link from "next/link";

import { buttonClasses } from "@/components/ui/button";
import {
  canAdministerEnvironment,
  canChangeEnvironmentSources,
  canCreateBackup,
  canDownloadBackup,
  canRestoreBackup,
  canUploadBackup,
} from "@/lib/auth/permissions";
import { findVisibleEnvironment, listVisibleEnvironments } from "@/lib/environments/visible";
import { requirePageActor } from "@/lib/http/current-actor";
import { checkEnvironmentReadiness } from "@/lib/environments/readiness";

import { EnvironmentHeader } from "../environment-header";
import { ReadinessNotice } from "../environment-readiness";
import { BackupHistorySection } from "./backup-history";
import { BackupsTable } from "./backups-table";
import { CreateBackupButton } from "./create-backup-button";
import { RestoresPanel } from "./restores-panel";

type Params = { projectId: string; environment: string };

export async function generateMetadata({ params }: { params: Promise<Params> }): Promise<Metadata> {
  const { projectId, environment } = await params;
  return { title: `Backups of ${projectId}-${environment}` };
}

export default async function BackupsPage({ params }: { params: Promise<Params> }) {
  const { projectId, environment: name } = await params;
  const actor = await requirePageActor();
  const environment = await findVisibleEnvironment(actor, { projectId, environment: name });
  if (!environment) notFound();
  // Where this person may restore a backup of this environment to: the project's environments they administer.
  const restoreTargets = (await listVisibleEnvironments(actor))
    .filter((env) => env.projectId === projectId && canRestoreBackup(actor, env))
    .map((env) => ({ name: env.name, displayName: env.displayName, isProduction: env.isProduction }));
  // Said before anyone presses Create backup, to the people who may: what is missing, in one line.
  const readiness = canCreateBackup(actor, environment)
    ? await checkEnvironmentReadiness(environment, { purpose: "backup", connectTimeoutMs: 1_000, showSources: canChangeEnvironmentSources(actor, environment) })
    : null;

  return (
    <div className="space-y-6">
      <EnvironmentHeader actor={actor} environment={environment} current="backups" />
      {(canUploadBackup(actor, environment) || canCreateBackup(actor, environment)) && (
        <div className="flex items-start justify-end gap-3">
          {canUploadBackup(actor, environment) && (
            <Link className={buttonClasses("secondary")} href={`/projects/${projectId}/upload?environment=${environment.name}`}>
              Upload Backup…
            </Link>
          )}
          {canCreateBackup(actor, environment) && <CreateBackupButton projectId={projectId} environment={environment.name} />}
        </div>
      )}
      {readiness && (
        <div className="flex justify-end">
          <ReadinessNotice readiness={readiness} />
        </div>
      )}
      {environment.isProduction && !canDownloadBackup(actor, environment) && (
        <p className="rounded-md bg-amber-50 p-3 text-sm text-amber-900">
          Only production environment administrators can download backups of {projectId}-{environment.name}.
        </p>
      )}
      <RestoresPanel projectId={projectId} environment={environment.name} />
      <BackupHistorySection projectId={projectId} environment={environment.name} />
      <BackupsTable
        projectId={projectId}
        environment={environment.name}
        restoreTargets={restoreTargets}
        canDelete={canAdministerEnvironment(actor, environment)}
      />
    </div>
  );
}
