import { logger } from "@/lib/logger";

/**
 * Runs `task` now and every `intervalMs` in the background, never two runs at
 * once; a failed run is logged and the next one tries again. The timer does
 * not keep the process alive. The returned function stops it.
 */
export function runPeriodically(name: string, intervalMs: number, task: () => Promise<void>): () => void {
  let running = false;
  const run = async () => {
    if (running) return;
    running = true;
    try {
      await task();
    } catch (err) {
      logger.error({ err }, `${name} failed; retrying on the next run`);
    } finally {
      running = false;
    }
  };
  void run();
  const timer = setInterval(() => void run(), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
