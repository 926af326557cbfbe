import { randomBytes } from "node:crypto";
import { lstat, mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";

import { VOLUME_ROOT } from "@/lib/backups/verify";

import { writeDocumentLibrary } from "./document-library";
import type { PortalData } from "./portal-data";

/*
 * The demo environments' live document libraries: one folder per
 * environment in the volume root, `<root>/acme-dev/document_library`, made
 * once. A folder that exists is never written again — a restore may have
 * replaced its library since, and that is the point of the demo.
 */

/** Beside each demo library (outside it, so it is in no backup): says what the folder is and when it was made. */
export const DEMO_VOLUME_MARKER = "lifeboat-demo.json";

export interface DemoVolume {
  /** The environment's volume folder: `<root>/<project>-<env>/document_library`. */
  volumePath: string;
  created: boolean;
  /** When its documents were generated (the portal's "now"); null when the marker is missing or unreadable. */
  generatedAt: Date | null;
}

export function demoVolumeFolder(root: string, label: string): string {
  return path.join(root, label);
}

export function demoVolumePath(root: string, label: string): string {
  return path.join(demoVolumeFolder(root, label), VOLUME_ROOT);
}

async function readMarker(folder: string): Promise<Date | null> {
  try {
    const marker = JSON.parse(await readFile(path.join(folder, DEMO_VOLUME_MARKER), "utf8")) as { generatedAt?: unknown };
    const date = typeof marker.generatedAt === "string" ? new Date(marker.generatedAt) : null;
    return date && !Number.isNaN(date.getTime()) ? date : null;
  } catch {
    return null;
  }
}

/** When an existing demo folder's documents were generated, or null if there is no such folder (or marker). */
export async function demoVolumeGeneratedAt(root: string, label: string): Promise<Date | null> {
  return readMarker(demoVolumeFolder(root, label));
}

/**
 * Makes `<root>/<label>/document_library` from `data` unless `<root>/<label>`
 * exists. It is built in a hidden sibling and renamed into place, so a
 * start that dies half way leaves no half-made library that would then be
 * kept; such leftovers are removed the next time.
 */
export async function ensureDemoVolume(root: string, label: string, data: () => PortalData): Promise<DemoVolume> {
  const folder = demoVolumeFolder(root, label);
  const volumePath = demoVolumePath(root, label);
  await mkdir(root, { recursive: true });
  const building = `.${label}.lbseed-`;
  for (const entry of await readdir(root)) {
    if (entry.startsWith(building)) await rm(path.join(root, entry), { recursive: true, force: true });
  }
  try {
    await lstat(folder);
    return { volumePath, created: false, generatedAt: await readMarker(folder) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }

  const portal = data();
  const temporary = path.join(root, `${building}${randomBytes(4).toString("hex")}`);
  try {
    await mkdir(temporary);
    await writeDocumentLibrary(portal, temporary);
    const marker = {
      lifeboat: "demo",
      environment: label,
      generatedAt: portal.takenAt.toISOString(),
      about:
        "Demo data made by Lifeboat's embedded default: a generated Liferay document library for the demo environment. Delete this folder (or DATA_DIR) to remove it; the next start makes a fresh one.",
    };
    await writeFile(path.join(temporary, DEMO_VOLUME_MARKER), `${JSON.stringify(marker, null, 2)}\n`);
    await rename(temporary, folder);
  } catch (error) {
    await rm(temporary, { recursive: true, force: true });
    // Another start made it in the meantime: theirs stands.
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST" || code === "ENOTEMPTY") return { volumePath, created: false, generatedAt: await readMarker(folder) };
    throw error;
  }
  return { volumePath, created: true, generatedAt: portal.takenAt };
}
