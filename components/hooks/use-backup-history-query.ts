"use client";

import { useQuery } from "@tanstack/react-query";

import { fetchJson } from "@/lib/api/client";
import type { BackupHistory } from "@/lib/backups/history";

/** An environment's backups over the last `days` days, for the charts (GET …/backup-history). */
export function useBackupHistoryQuery(projectId: string, environment: string, days: number) {
  return useQuery({
    queryKey: ["backup-history", projectId, environment, days],
    queryFn: ({ signal }) =>
      fetchJson<{ response: BackupHistory }>(
        `/api/v1/projects/${encodeURIComponent(projectId)}/environments/${encodeURIComponent(environment)}/backup-history?days=${days}`,
        { signal },
      ).then((body) => body.response),
  });
}
