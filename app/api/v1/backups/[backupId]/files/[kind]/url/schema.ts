import { z } from "zod";

import { SIGNED_URL_DEFAULT_SECONDS, SIGNED_URL_MAX_SECONDS, SIGNED_URL_MIN_SECONDS } from "@/lib/downloads/signed-url";

/** POST body: how long the link should work, in seconds; no body at all means an hour. */
export const createFileUrlSchema = z.strictObject({
  expires_in: z.number().int().min(SIGNED_URL_MIN_SECONDS).max(SIGNED_URL_MAX_SECONDS).default(SIGNED_URL_DEFAULT_SECONDS),
});

export type CreateFileUrlBody = z.infer<typeof createFileUrlSchema>;
