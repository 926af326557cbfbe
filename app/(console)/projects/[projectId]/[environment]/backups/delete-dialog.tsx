"use client";

import { useDeleteBackupMutation } from "@/components/hooks/use-delete-backup-mutation";
import { Button } from "@/components/ui/button";
import { ConfirmFooter, DialogContent } from "@/components/ui/dialog";
import type { BackupJson } from "@/lib/backups/serialize";

/**
 * Delete… from a backup's ⋮ menu (administrators): says what goes, then
 * deletes the backup and both its files. The server refuses (409) while the
 * backup is running or being restored, and the reason shows here.
 */
export function DeleteDialogContent({
  backup,
  projectId,
  environment,
  onDeleted,
  onCloseAutoFocus,
}: {
  backup: BackupJson;
  projectId: string;
  environment: string;
  onDeleted: (backupId: string) => void;
  onCloseAutoFocus: (event: Event) => void;
}) {
  const mutation = useDeleteBackupMutation(projectId, environment);
  return (
    <DialogContent title="Delete backup" description={<span className="font-mono">{backup.id}</span>} onCloseAutoFocus={onCloseAutoFocus}>
      <p className="text-sm text-slate-700">The backup and its two files (database and document library) are deleted from storage. This cannot be undone.</p>
      {backup.pinned && (
        <p className="mt-2 rounded-md bg-amber-50 p-3 text-sm text-amber-900">This backup is pinned: unpin it from its ⋮ menu before deleting it.</p>
      )}
      <ConfirmFooter
        error={mutation.isError ? mutation.error.message : null}
        action={
          <Button
            variant="danger"
            disabled={mutation.isPending || backup.pinned}
            aria-busy={mutation.isPending}
            onClick={() => mutation.mutate(backup.id, { onSuccess: () => onDeleted(backup.id) })}
          >
            {mutation.isPending ? "Deleting…" : "Delete backup"}
          </Button>
        }
      />
    </DialogContent>
  );
}
