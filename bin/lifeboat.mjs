#!/usr/bin/env node
// The `lifeboat` CLI's launcher: registers tsx (a dependency) so lib/cli/main.ts and
// its `@/…` imports load from source, then runs it. See docs/cli.md.
import { fileURLToPath } from "node:url";

import { register } from "tsx/esm/api";

// The package's own tsconfig, wherever the command is run from: it maps `@/*` to the package root.
register({ tsconfig: fileURLToPath(new URL("../tsconfig.json", import.meta.url)) });

const { main } = await import(new URL("../lib/cli/main.ts", import.meta.url).href);

const controller = new AbortController();
// First Ctrl-C: stop cleanly and keep resume state; a second one leaves at once.
process.once("SIGINT", () => {
  controller.abort();
  process.once("SIGINT", () => process.exit(130));
});

process.exitCode = await main(process.argv.slice(2), { signal: controller.signal, cwd: process.cwd() });
