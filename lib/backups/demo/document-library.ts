import { mkdir, mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";

import { create } from "tar";

import { storePath } from "./portal-data";
import type { PortalData } from "./portal-data";

export const DOCUMENT_LIBRARY_ROOT = "document_library";

/**
 * Lays the portal's documents out as Liferay's FileSystemStore does, in
 * `<folder>/document_library/`, each file dated when its version was uploaded.
 */
export async function writeDocumentLibrary(data: PortalData, folder: string): Promise<void> {
  for (const document of data.documents) {
    for (const version of document.versions) {
      const file = path.join(folder, storePath(document, version));
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, version.content);
      // An archive keeps each file's mtime: the moment that version was uploaded.
      await utimes(file, version.createdAt, version.createdAt);
    }
  }
}

/**
 * Writes the portal's document library under a fresh temporary folder and
 * hands `use` a gzip'd tar of `document_library/` read straight from that
 * folder. The folder is removed once `use` settles, so `use` must finish
 * reading the stream before it returns.
 */
export async function withDocumentLibraryArchive<T>(data: PortalData, use: (archive: Readable) => Promise<T>): Promise<T> {
  const cwd = await mkdtemp(path.join(os.tmpdir(), "lifeboat-demo-doclib-"));
  try {
    await writeDocumentLibrary(data, cwd);
    // portable: no uid, gid or user names of this machine in a file people download (node-tar then also
    // leaves folders' mtimes out; the files keep theirs).
    const pack = create({ gzip: true, portable: true, cwd }, [DOCUMENT_LIBRARY_ROOT]);
    // node-tar's Pack is a Minipass stream; Readable.from gives Node's pipeline a real Readable to manage.
    return await use(Readable.from(pack, { objectMode: false }));
  } finally {
    await rm(cwd, { recursive: true, force: true });
  }
}
