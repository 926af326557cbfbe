import fs from "node:fs/promises";
import path from "node:path";

import { getConfig, isPathWithin } from "@/lib/config";

/*
 * Where a volume folder may be. A backup reads the folder with the server's
 * privileges and a restore renames it away and puts another in its place,
 * so it must lie inside a folder an operator set aside for document
 * libraries (VOLUME_ROOTS) — as it resolves on disk, symbolic links
 * followed, each time it is used, not only when it was saved. It must be a
 * folder of its own inside a root (never the root itself), so the restore's
 * staging and previous copies, which sit beside it, stay inside the root too.
 *
 * What a refusal says never depends on what exists outside the roots: a
 * path outside them is refused before anything there is looked at.
 */

export type VolumeFolderCheck = { ok: true; path: string } | { ok: false; reason: string };

async function realRoot(root: string): Promise<string> {
  return fs.realpath(root).catch(() => root);
}

async function insideSomeRoot(target: string, roots: readonly string[]): Promise<boolean> {
  for (const root of roots) {
    const real = await realRoot(root);
    if (target !== real && isPathWithin(target, real)) return true;
  }
  return false;
}

/**
 * Resolves a configured volume folder to the real path to use, or says why
 * it cannot be used. `mayBeMissing`: a restore may create the folder, so it
 * need not exist yet; its parent must, inside a root.
 */
export async function resolveVolumeFolder(
  volumePath: string,
  { roots = getConfig().volumeRoots, mayBeMissing = false }: { roots?: readonly string[]; mayBeMissing?: boolean } = {},
): Promise<VolumeFolderCheck> {
  if (!path.isAbsolute(volumePath)) return { ok: false, reason: "must be an absolute path" };
  if (volumePath.split(/[/\\]/).includes("..")) return { ok: false, reason: "must not contain .." };
  if (roots.length === 0) {
    return {
      ok: false,
      reason: "cannot be used: this Lifeboat server allows no volume folders yet (an operator names the folders that hold document libraries in VOLUME_ROOTS)",
    };
  }
  const outside = { ok: false, reason: `must be a folder inside one of the volume roots (${roots.join(", ")})` } as const;
  const named = path.resolve(volumePath);
  // Judged on the path as written first: nothing outside the roots is looked at.
  if (!roots.some((root) => named !== root && isPathWithin(named, root))) return outside;

  let real: string;
  try {
    real = await fs.realpath(named);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && mayBeMissing) {
      const parent = await fs.realpath(path.dirname(named)).catch(() => null);
      if (!parent) return { ok: false, reason: `cannot be created: ${path.dirname(named)} does not exist` };
      const created = path.join(parent, path.basename(named));
      return (await insideSomeRoot(created, roots))
        ? { ok: true, path: created }
        : { ok: false, reason: "resolves outside the volume roots (through a symbolic link)" };
    }
    if (code === "ENOENT") return { ok: false, reason: `${named} does not exist` };
    if (code === "ENOTDIR") return { ok: false, reason: `${named} is not a folder` };
    if (code === "EACCES") return { ok: false, reason: `${named} cannot be read by the Lifeboat server` };
    throw error;
  }
  if (!(await insideSomeRoot(real, roots))) return { ok: false, reason: "resolves outside the volume roots (through a symbolic link)" };
  const info = await fs.stat(real);
  if (!info.isDirectory()) return { ok: false, reason: `${named} is not a folder` };
  return { ok: true, path: real };
}
