import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";

import { canUploadBackup } from "@/lib/auth/permissions";
import { listVisibleEnvironments } from "@/lib/environments/visible";
import { requirePageActor } from "@/lib/http/current-actor";

import { UploadBackupForm } from "./upload-backup-form";

export const metadata: Metadata = { title: "Upload Backup" };

type Params = { projectId: string };

export default async function UploadBackupPage({
  params,
  searchParams,
}: {
  params: Promise<Params>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const { projectId } = await params;
  const { environment: requested } = await searchParams;
  const actor = await requirePageActor();
  const environments = (await listVisibleEnvironments(actor)).filter((env) => env.projectId === projectId);
  if (environments.length === 0) notFound();

  return (
    <div className="space-y-6">
      <nav aria-label="Breadcrumb" className="text-sm text-slate-500">
        <Link href="/" className="hover:underline">
          {projectId}
        </Link>{" "}
        / Upload Backup
      </nav>
      <div>
        <h1 className="text-2xl font-semibold">Upload Backup</h1>
        <p className="mt-1 max-w-prose text-sm text-slate-600">
          Expand an environment, click <strong>+</strong> for the database (<code>database.gz</code>, a gzip&apos;d SQL dump) and for the document library (
          <code>volume.tgz</code>, made with <code>cd $LIFERAY_HOME/data &amp;&amp; tar -czvf volume.tgz document_library</code>), then{" "}
          <strong>Initiate Upload</strong>. While the backup is being generated, no other backup in that environment can be generated or restored.
        </p>
      </div>
      <UploadBackupForm
        projectId={projectId}
        initiallyExpanded={typeof requested === "string" ? requested : undefined}
        environments={environments.map((env) => ({
          name: env.name,
          displayName: env.displayName,
          isProduction: env.isProduction,
          canUpload: canUploadBackup(actor, env),
        }))}
      />
    </div>
  );
}
