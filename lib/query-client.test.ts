import { afterEach, describe, expect, it, vi } from "vitest";

import { fetchJson } from "@/lib/api/client";

import { createQueryClient } from "./query-client";

/** The browser's fetch answering every request with one JSON error, as the API does; counts the requests. */
function answerEvery(status: number, code: string, message: string) {
  const fetchMock = vi.fn(async () => Response.json({ error: { code, message } }, { status }));
  vi.stubGlobal("fetch", fetchMock);
  return fetchMock;
}

/** A query of the console's QueryClient through the API client, with no delay between retries. */
async function runQuery(): Promise<unknown> {
  const client = createQueryClient();
  try {
    return await client.fetchQuery({ queryKey: ["backup"], queryFn: () => fetchJson("/api/v1/backups/acme-x-201910031723"), retryDelay: 0 });
  } catch (error) {
    return error;
  } finally {
    client.clear();
  }
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("createQueryClient retries", () => {
  // The server's messages are prose ("There is no backup … you have access to."): the status is what decides.
  it.each([
    [401, "unauthorized", "The API token has expired."],
    [403, "forbidden", "Only administrators of acme prd may download its backups."],
    [404, "not_found", "There is no backup acme-x-201910031723 you have access to."],
  ])("asks once when the server answers %i", async (status, code, message) => {
    const fetchMock = answerEvery(status, code, message);
    const error = await runQuery();
    expect(error).toMatchObject({ name: "ApiError", status, code, message });
    expect(fetchMock).toHaveBeenCalledTimes(1);
  });

  it("retries twice on a server error, then gives up", async () => {
    const fetchMock = answerEvery(500, "internal", "Something went wrong on our side.");
    const error = await runQuery();
    expect(error).toMatchObject({ name: "ApiError", status: 500 });
    expect(fetchMock).toHaveBeenCalledTimes(3);
  });

  it("retries a network failure", async () => {
    const fetchMock = vi.fn(async () => {
      throw new TypeError("fetch failed");
    });
    vi.stubGlobal("fetch", fetchMock);
    const error = await runQuery();
    expect(error).toBeInstanceOf(TypeError);
    expect(fetchMock).toHaveBeenCalledTimes(3);
  });
});
