import { z } from "zod";

import { MAX_EXPIRY_DAYS, MAX_TOKEN_NAME_LENGTH } from "@/lib/tokens/tokens";

/** POST body: a name, an expiry in whole days (null: never), and optionally one environment the token is limited to. */
export const createTokenSchema = z.object({
  name: z.string().trim().min(1, { message: "give the token a name" }).max(MAX_TOKEN_NAME_LENGTH),
  expiresInDays: z.number().int().min(1).max(MAX_EXPIRY_DAYS).nullable(),
  scope: z
    .object({
      project: z.string().min(1).max(30),
      environment: z.string().min(1).max(30),
    })
    .nullable()
    .default(null),
});

export type CreateTokenBody = z.infer<typeof createTokenSchema>;
