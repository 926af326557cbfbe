import { QueryClient } from "@tanstack/react-query";

import { ApiError } from "@/lib/api/client";

// Asking again cannot change these answers: the page shows them at once instead of after two retries.
const FINAL_STATUSES = new Set([401, 403, 404]);

/** Retries a failed query twice, unless the server's status says a retry would get the same answer. */
export function shouldRetryQuery(failureCount: number, error: unknown): boolean {
  return failureCount < 2 && !(error instanceof ApiError && FINAL_STATUSES.has(error.status));
}

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        // Data rendered on the server is fresh: don't refetch it the moment the page hydrates.
        staleTime: 30_000,
        retry: shouldRetryQuery,
      },
    },
  });
}
