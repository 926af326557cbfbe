import { z } from "zod";

import { environmentSettingsSchema } from "@/lib/environments/settings";

/**
 * POST body: a proposed retention policy, in the settings' own field names.
 * A field left out keeps its stored value; null turns the rule off.
 */
export const retentionPreviewSchema = z.strictObject(
  environmentSettingsSchema.pick({
    retentionKeepCount: true,
    retentionDays: true,
    retentionKeepLast: true,
    retentionKeepHourly: true,
    retentionKeepDaily: true,
    retentionKeepWeekly: true,
    retentionKeepMonthly: true,
    retentionKeepYearly: true,
  }).shape,
);

export type RetentionPreviewBody = z.infer<typeof retentionPreviewSchema>;
