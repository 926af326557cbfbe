import { FILE_RULES } from "@/lib/uploads/files";
import type { FileKind } from "./upload-engine";

const GZIP_MAGIC = [0x1f, 0x8b] as const;
const MAX_FILE_BYTES = 1024 ** 4;

/**
 * What the browser can check before a single byte is sent: the name, that it
 * is not empty or over 1 TiB, and the gzip magic bytes. The server checks it
 * all again, and the whole content, once the upload completes.
 */
export async function checkFile(kind: FileKind, file: File): Promise<string | null> {
  const rule = FILE_RULES[kind];
  if (!rule.accepts(file.name)) return `${file.name} cannot be the ${rule.label} file: it must be ${rule.expected}.`;
  if (file.size === 0) return `${file.name} is empty.`;
  if (file.size > MAX_FILE_BYTES) return `${file.name} is larger than 1 TiB, the most one upload can take.`;
  const head = new Uint8Array(await file.slice(0, 2).arrayBuffer());
  if (head[0] !== GZIP_MAGIC[0] || head[1] !== GZIP_MAGIC[1]) {
    return `${file.name} is not gzip-compressed (its first bytes are not 1f 8b). Compress it with ${
      kind === "database" ? "gzip, e.g. pg_dump … | gzip > database.gz" : "tar -czf volume.tgz document_library"
    }.`;
  }
  return null;
}
