import { serveBackupKeyDownload } from "@/lib/backup-key";
import { serveBackupDownload } from "@/lib/downloads/node-handler";
import { serveLiferayUpload } from "@/lib/liferay/upload-handler";
import { serveMetrics } from "@/lib/metrics";
import { serveUploadPart } from "@/lib/uploads/node-handler";

import type { NodeRoute } from "@/lib/http/node-router";

/** Every route served by plain Node in front of Next.js (see lib/http/node-router.ts for why): the composition root of the byte paths, beside server.ts. */
export const NODE_ROUTES: readonly NodeRoute[] = [
  // The Liferay backup service's download paths, verbatim.
  {
    methods: ["GET", "HEAD"],
    pattern: /^\/backup\/download\/(database|volume)\/([^/]+)$/,
    handler: serveBackupDownload,
  },
  // The Liferay backup service's upload API, verbatim: multipart database + volume, streamed into storage.
  { methods: ["POST"], pattern: /^\/backup\/upload$/, handler: serveLiferayUpload },
  // SysReptor's backup endpoint, verbatim (with or without the trailing slash, so curl without -L works).
  { methods: ["POST"], pattern: /^\/api\/v1\/utils\/backup\/?$/, handler: serveBackupKeyDownload },
  // Prometheus's scrape, for the METRICS_TOKEN Bearer token only (lib/metrics/http.ts); 404 while that is unset.
  { methods: ["GET", "HEAD"], pattern: /^\/metrics$/, handler: serveMetrics },
  // One part of an Upload Backup file, streamed into storage (lib/uploads/node-handler.ts).
  {
    methods: ["PUT"],
    pattern: /^\/api\/v1\/uploads\/([^/]+)\/parts\/([^/]+)$/,
    handler: serveUploadPart,
  },
];
