import { z } from "zod";

import { FILE_RULES, SHA256_HEX } from "@/lib/uploads/files";

const fileSchema = (kind: keyof typeof FILE_RULES) =>
  z.object({
    fileName: z
      .string()
      .min(1)
      .max(255)
      .refine((name) => FILE_RULES[kind].accepts(name), { message: `must be ${FILE_RULES[kind].expected}` }),
    // The 1 TiB ceiling is checked by createUploadSession, which answers 413 rather than 400.
    size: z.number().int().positive(),
    lastModified: z.number().int().nonnegative().optional(),
    sha256: z.string().regex(SHA256_HEX, { message: "must be 64 hexadecimal characters" }).optional(),
  });

/** POST body: the two files about to be sent, as the browser's File objects describe them. */
export const createUploadSchema = z.object({
  database: fileSchema("database"),
  volume: fileSchema("volume"),
});

export type CreateUploadBody = z.infer<typeof createUploadSchema>;
