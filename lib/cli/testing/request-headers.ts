import { AsyncLocalStorage } from "node:async_hooks";

/*
 * The request headers of the route handler call in progress. Tests mock
 * `next/headers` with `headers: async () => currentHeaders()`, so the real
 * route modules see each loopback request's own Authorization header even
 * when many run at once. No other imports: the mock factory loads this
 * before any route module.
 */
export const requestHeaders = new AsyncLocalStorage<Headers>();

export function currentHeaders(): Headers {
  return requestHeaders.getStore() ?? new Headers();
}
