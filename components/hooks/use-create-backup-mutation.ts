"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";

import { fetchJson } from "@/lib/api/client";
import type { BackupJson } from "@/lib/backups/serialize";

import { backupsQueryKey } from "./use-backups-query";

/** Queues a manual backup; the list refetches and then polls while it runs. */
export function useCreateBackupMutation(projectId: string, environment: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () =>
      fetchJson<{ response: BackupJson }>(`/api/v1/projects/${encodeURIComponent(projectId)}/environments/${encodeURIComponent(environment)}/backups`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: backupsQueryKey(projectId, environment) }),
  });
}
