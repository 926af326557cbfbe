import type { NodeRoute } from "@/lib/http/node-router";

/**
 * Tests only: the byte-path routes, wrapped so a test can wait for what a handler did instead of for a while.
 * A handler keeps working after the client has its answer (an audit row, cleaning up after a dropped
 * connection); `settled()` is the moment it has finished, so whatever it was going to record is recorded.
 */
export interface HandlerTracker {
  routes: NodeRoute[];
  /** Handler calls begun so far. */
  readonly started: number;
  /** Resolves once `count` handler calls have begun in all: the server is handling that request. */
  whenStarted(count: number): Promise<void>;
  /** Resolves once every handler call begun so far has returned. */
  settled(): Promise<void>;
}

export function trackHandlers(routes: readonly NodeRoute[]): HandlerTracker {
  const running = new Set<Promise<void>>();
  const waiters: { count: number; resolve: () => void }[] = [];
  let started = 0;
  const tracker: HandlerTracker = {
    routes: routes.map((route) => ({
      ...route,
      handler: (req, res, params) => {
        const call = route.handler(req, res, params);
        running.add(call);
        started++;
        for (const waiter of waiters.filter((w) => w.count <= started)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
        void call.catch(() => {}).finally(() => running.delete(call));
        return call;
      },
    })),
    get started() {
      return started;
    },
    whenStarted(count) {
      if (started >= count) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    async settled() {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
  };
  return tracker;
}
