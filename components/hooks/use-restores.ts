"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { fetchJson } from "@/lib/api/client";
import type { RestoreJson } from "@/lib/backups/restore";

const POLL_MS = 2_000;

function restoresUrl(projectId: string, environment: string) {
  return `/api/v1/projects/${encodeURIComponent(projectId)}/environments/${encodeURIComponent(environment)}/restores?limit=5`;
}

export function restoresQueryKey(projectId: string, environment: string) {
  return ["restores", projectId, environment] as const;
}

const isActive = (restore: RestoreJson) => restore.status === "queued" || restore.status === "running";

/** The latest restores into an environment; polls only while one is queued or running. */
export function useRestoresQuery(projectId: string, environment: string) {
  return useQuery({
    queryKey: restoresQueryKey(projectId, environment),
    queryFn: ({ signal }) => fetchJson<{ response: RestoreJson[] }>(restoresUrl(projectId, environment), { signal }),
    refetchInterval: (query) => (query.state.data?.response.some(isActive) ? POLL_MS : false),
  });
}

export interface RestoreRequest {
  backupId: string;
  /** The environment restored into (same project). */
  environment: string;
  /** The target's name, typed by the person; production requires it. */
  confirm?: string;
}

/** Queues a restore; the target environment's restores list refetches and then polls while it runs. */
export function useRestoreMutation(projectId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ backupId, environment, confirm }: RestoreRequest) =>
      fetchJson<{ response: RestoreJson }>(`/api/v1/backups/${encodeURIComponent(backupId)}/restore`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ environment, ...(confirm ? { confirm } : {}) }),
      }),
    onSuccess: (_data, variables) => queryClient.invalidateQueries({ queryKey: restoresQueryKey(projectId, variables.environment) }),
  });
}
