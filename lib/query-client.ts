import { QueryClient } from "@tanstack/react-query";

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        // Data rendered on the server is fresh: don't refetch it the moment the page hydrates.
        staleTime: 30_000,
        retry: (failureCount, error) => failureCount < 2 && !(error instanceof Error && /\b(401|403|404)\b/.test(error.message)),
      },
    },
  });
}
