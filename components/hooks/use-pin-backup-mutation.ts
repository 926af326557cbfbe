"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";

import { fetchJson } from "@/lib/api/client";
import type { BackupJson } from "@/lib/backups/serialize";

import { backupsQueryKey } from "./use-backups-query";

/** Pins (PUT) or unpins (DELETE) a backup; the list refetches, with the reasons retention now gives. */
export function usePinBackupMutation(projectId: string, environment: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ backupId, pinned }: { backupId: string; pinned: boolean }) =>
      fetchJson<{ response: BackupJson }>(`/api/v1/backups/${encodeURIComponent(backupId)}/pin`, { method: pinned ? "PUT" : "DELETE" }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: backupsQueryKey(projectId, environment) }),
  });
}
