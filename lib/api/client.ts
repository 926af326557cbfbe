import type { ErrorBody } from "@/lib/errors";

/** An API failure as the browser sees it: the server's own message and code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export async function fetchJson<T>(url: string, init?: RequestInit): Promise<T> {
  const response = await fetch(url, { ...init, headers: { accept: "application/json", ...init?.headers } });
  if (!response.ok) {
    const body = (await response.json().catch(() => null)) as ErrorBody | null;
    throw new ApiError(response.status, body?.error.code ?? "unknown", body?.error.message ?? `The server answered ${response.status} ${response.statusText}.`);
  }
  // 204 No Content (e.g. a delete) has no body to parse.
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}
