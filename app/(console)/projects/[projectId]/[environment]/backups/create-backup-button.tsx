"use client";

import { useCreateBackupMutation } from "@/components/hooks/use-create-backup-mutation";
import { Button } from "@/components/ui/button";

export function CreateBackupButton({ projectId, environment }: { projectId: string; environment: string }) {
  const mutation = useCreateBackupMutation(projectId, environment);
  return (
    <div className="flex flex-col items-end gap-2">
      <Button onClick={() => mutation.mutate()} disabled={mutation.isPending} aria-busy={mutation.isPending}>
        {mutation.isPending ? "Queueing…" : "Create backup"}
      </Button>
      {mutation.isSuccess && (
        <p role="status" className="text-sm text-slate-700">
          Backup <span className="font-mono">{mutation.data.response.id}</span> is queued; its progress shows below.
        </p>
      )}
      {mutation.isError && (
        <p role="alert" className="max-w-md rounded-md bg-red-50 p-2 text-sm text-red-800">
          {mutation.error.message}
        </p>
      )}
    </div>
  );
}
