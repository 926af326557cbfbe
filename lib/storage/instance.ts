import { getConfig } from "@/lib/config";

import { createStorage } from "./index";
import type { Storage } from "./types";

// One storage client per process, shared by the custom server and Next's
// bundled route handlers (each has its own copy of this module).
const STORAGE_KEY = Symbol.for("lifeboat.storage");
type GlobalWithStorage = typeof globalThis & { [STORAGE_KEY]?: Storage };

export function getStorage(): Storage {
  const g = globalThis as GlobalWithStorage;
  g[STORAGE_KEY] ??= createStorage(getConfig().storage);
  return g[STORAGE_KEY];
}
