import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { onInterrupt, stopAllChildren } from "./children";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/**
 * What every benchmark of the running console needs first: the production
 * build (null, with the reason printed, when there is none) and a temp
 * folder whose `cleanup` stops the servers and deletes it — also on Ctrl-C.
 */
export async function openBenchWorkspace(name: string): Promise<{ tmp: string; cleanup: () => Promise<void> } | null> {
  if (!existsSync(path.join(REPO_ROOT, ".next", "BUILD_ID"))) {
    console.error("The console serves the production build, and there is none: run `npx next build` first.");
    process.exitCode = 1;
    return null;
  }
  const tmp = await mkdtemp(path.join(os.tmpdir(), `lifeboat-bench-${name}-`));
  const cleanup = async () => {
    await stopAllChildren();
    await rm(tmp, { recursive: true, force: true });
  };
  onInterrupt(cleanup);
  return { tmp, cleanup };
}
