"use client";

import { useInfiniteQuery } from "@tanstack/react-query";

import { fetchJson } from "@/lib/api/client";
import type { BackupJson } from "@/lib/backups/serialize";

export interface BackupsPage {
  response: BackupJson[];
  count: number;
  pagination: { next_cursor: string | null; per_page: number };
  permissions: { download: boolean; upload: boolean };
}

export interface BackupFilters {
  status?: string;
  origin?: string;
}

const POLL_MS = 2_000;

export function backupsQueryKey(projectId: string, environment: string, filters?: BackupFilters) {
  return filters ? (["backups", projectId, environment, filters] as const) : (["backups", projectId, environment] as const);
}

/**
 * An environment's backups, newest first, a page at a time. Polls only while
 * something on screen is queued or running, so an idle page costs nothing.
 */
export function useBackupsQuery(projectId: string, environment: string, filters: BackupFilters) {
  return useInfiniteQuery({
    queryKey: backupsQueryKey(projectId, environment, filters),
    initialPageParam: null as string | null,
    queryFn: ({ pageParam, signal }) => {
      const params = new URLSearchParams();
      if (pageParam) params.set("cursor", pageParam);
      if (filters.status) params.set("status", filters.status);
      if (filters.origin) params.set("origin", filters.origin);
      return fetchJson<BackupsPage>(`/api/v1/projects/${encodeURIComponent(projectId)}/environments/${encodeURIComponent(environment)}/backups?${params}`, {
        signal,
      });
    },
    getNextPageParam: (last) => last.pagination.next_cursor,
    refetchInterval: (query) =>
      query.state.data?.pages.some((page) => page.response.some((b) => b.status === "queued" || b.status === "running")) ? POLL_MS : false,
  });
}
