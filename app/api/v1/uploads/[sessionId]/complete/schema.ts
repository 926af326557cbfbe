import { z } from "zod";

import { SHA256_HEX } from "@/lib/uploads/files";

const fileHash = z.object({ sha256: z.string().regex(SHA256_HEX, { message: "must be 64 hexadecimal characters" }) });

/** POST body: the SHA-256 of each whole file, computed by the client before or while sending it. */
export const completeUploadSchema = z.object({
  database: fileHash,
  volume: fileHash,
});

export type CompleteUploadBody = z.infer<typeof completeUploadSchema>;
