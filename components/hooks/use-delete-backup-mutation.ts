"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";

import { fetchJson } from "@/lib/api/client";

import { backupsQueryKey } from "./use-backups-query";

/** Deletes a backup and its two files; the list refetches. */
export function useDeleteBackupMutation(projectId: string, environment: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (backupId: string) => fetchJson<void>(`/api/v1/backups/${encodeURIComponent(backupId)}`, { method: "DELETE" }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: backupsQueryKey(projectId, environment) }),
  });
}
