import { stat } from "node:fs/promises";
import { Readable } from "node:stream";

import { create } from "tar";

import { VOLUME_ROOT } from "@/lib/backups/verify";
import type { Environment } from "@/lib/db/schema";
import { resolveVolumeFolder } from "@/lib/environments/volume-folder";
import { environmentLabel } from "@/lib/uploads/access";

import { BackupError } from "./errors";

/**
 * The volume folder as an uncompressed tar stream whose entries all sit
 * under `document_library/`, whatever the folder is called on disk — the
 * layout `cd $LIFERAY_HOME/data && tar -czvf volume.tgz document_library`
 * makes and a restore expects. `portable` leaves out owner names and the
 * like, which mean nothing on another machine.
 */
export async function volumeTarStream(volumePath: string): Promise<Readable> {
  let info;
  try {
    info = await stat(volumePath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new BackupError(`The volume folder ${volumePath} does not exist on the Lifeboat server.`);
    if (code === "EACCES") throw new BackupError(`The Lifeboat server may not read the volume folder ${volumePath}.`);
    throw error;
  }
  if (!info.isDirectory()) throw new BackupError(`The volume path ${volumePath} is not a folder.`);
  // node-tar's Pack is a Minipass stream; Readable.from gives stream.pipeline a real Node stream with backpressure.
  return Readable.from(create({ cwd: volumePath, portable: true, prefix: VOLUME_ROOT, gzip: false }, ["."]), { objectMode: false });
}

/**
 * The environment's volume folder as it resolves on disk now, inside the
 * volume roots (lib/environments/volume-folder.ts): checked at every backup
 * and restore, not only when an operator saved it.
 */
export async function confinedVolumeFolder(
  environment: Environment,
  { roots, mayBeMissing = false }: { roots?: readonly string[]; mayBeMissing?: boolean } = {},
): Promise<string> {
  if (!environment.volumePath) throw new BackupError(`${environmentLabel(environment)} has no volume folder configured.`);
  const folder = await resolveVolumeFolder(environment.volumePath, { roots, mayBeMissing });
  if (!folder.ok) throw new BackupError(`${environmentLabel(environment)}'s volume folder ${folder.reason}. An operator can correct it in Settings.`);
  return folder.path;
}
