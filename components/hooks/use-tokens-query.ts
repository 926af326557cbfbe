"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { ApiError, fetchJson } from "@/lib/api/client";
import type { ErrorBody } from "@/lib/errors";
import type { TokenView } from "@/lib/tokens/view";

export const TOKENS_QUERY_KEY = ["tokens"] as const;

export interface NewTokenRequest {
  name: string;
  expiresInDays: number | null;
  scope: { project: string; environment: string } | null;
}

export function useTokensQuery() {
  return useQuery({
    queryKey: TOKENS_QUERY_KEY,
    queryFn: ({ signal }) => fetchJson<{ response: TokenView[]; count: number }>("/api/v1/tokens", { signal }),
  });
}

export function useCreateTokenMutation() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (input: NewTokenRequest) =>
      fetchJson<{ token: string; response: TokenView }>("/api/v1/tokens", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(input),
      }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: TOKENS_QUERY_KEY }),
  });
}

export function useRevokeTokenMutation() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (tokenId: string) => {
      const response = await fetch(`/api/v1/tokens/${encodeURIComponent(tokenId)}`, { method: "DELETE" });
      if (!response.ok) {
        const body = (await response.json().catch(() => null)) as ErrorBody | null;
        throw new ApiError(response.status, body?.error.code ?? "unknown", body?.error.message ?? `The server answered ${response.status}.`);
      }
    },
    onSuccess: () => queryClient.invalidateQueries({ queryKey: TOKENS_QUERY_KEY }),
  });
}
