import { redirect } from "next/navigation";

type Params = { projectId: string; environment: string };

/** An environment opens on its backups, as in the Liferay console. */
export default async function EnvironmentPage({ params }: { params: Promise<Params> }) {
  const { projectId, environment } = await params;
  redirect(`/projects/${encodeURIComponent(projectId)}/${encodeURIComponent(environment)}/backups`);
}
