import { z } from "zod";

import { isFetchableUrl } from "@/lib/backups/import/remote-url";

const remoteFile = (what: string) =>
  z
    .string()
    .trim()
    .max(8192)
    .refine(isFetchableUrl, { message: `must be an http:// or https:// URL of the ${what}` });

/**
 * POST body: the Cloud 66 seed's `remote_url` (here the database dump, a
 * .gz) and, because a Lifeboat backup is two files, `volume_url` (the
 * document library, a .tgz); an optional name and description as for a
 * manual backup.
 */
export const importBackupSchema = z.strictObject({
  remote_url: remoteFile("database dump (database.gz)"),
  volume_url: remoteFile("document library archive (volume.tgz)"),
  name: z.string().trim().min(1).max(200).optional(),
  description: z.string().trim().max(2000).optional(),
});

export type ImportBackupBody = z.infer<typeof importBackupSchema>;
