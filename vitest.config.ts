import { realpathSync } from "node:fs";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const root = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      "@/": root,
      // "server-only" throws outside React Server Components; in tests the
      // modules run in plain Node, which is exactly what it guards against.
      "server-only": fileURLToPath(new URL("./lib/testing/empty-module.ts", import.meta.url)),
    },
  },
  test: {
    include: ["lib/**/*.test.ts", "app/**/*.test.ts", "scripts/**/*.test.ts", "bench/**/*.test.ts"],
    environment: "node",
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Tests provoke failures on purpose; their error logs would bury the results. LOG_LEVEL=debug to see them.
    env: {
      LOG_LEVEL: process.env.LOG_LEVEL ?? "silent",
      // Tests make their volume folders with mkdtemp under the system's temporary folder: that is their volume root.
      // Tests of the confinement itself name their own roots.
      VOLUME_ROOTS: process.env.VOLUME_ROOTS ?? realpathSync(tmpdir()),
    },
  },
});
