import { z } from "zod";
import { createDocument } from "zod-openapi";
import type { ZodOpenApiOperationObject, ZodOpenApiPathsObject, ZodOpenApiResponseObject } from "zod-openapi";

import { createFileUrlSchema } from "@/app/api/v1/backups/[backupId]/files/[kind]/url/schema";
import { restoreBackupSchema } from "@/app/api/v1/backups/[backupId]/restore/schema";
import { updateBackupTaskSchema } from "@/app/api/v1/projects/[projectId]/environments/[environment]/backup-task/schema";
import { importBackupSchema } from "@/app/api/v1/projects/[projectId]/environments/[environment]/backups/import/schema";
import { backupHistoryQuerySchema } from "@/app/api/v1/projects/[projectId]/environments/[environment]/backup-history/schema";
import { createBackupSchema, listBackupsQuerySchema } from "@/app/api/v1/projects/[projectId]/environments/[environment]/backups/schema";
import { retentionPreviewSchema as retentionPreviewBodySchema } from "@/app/api/v1/projects/[projectId]/environments/[environment]/retention/preview/schema";
import { createUploadSchema } from "@/app/api/v1/projects/[projectId]/environments/[environment]/uploads/schema";
import { createTokenSchema } from "@/app/api/v1/tokens/schema";
import { completeUploadSchema } from "@/app/api/v1/uploads/[sessionId]/complete/schema";
import { backupKeyRequestSchema } from "@/lib/backup-key/handler";
import { BACKUP_ID_PATTERN } from "@/lib/backups/backup-id";
import { SIGNED_URL_MAX_SECONDS, SIGNED_URL_MIN_SECONDS } from "@/lib/downloads/signed-url";
import { environmentSettingsSchema as settingsInputSchema } from "@/lib/environments/settings";

import {
  backupFileSchema,
  backupHistorySchema,
  backupSchema,
  backupTaskResponseSchema,
  environmentSchema,
  environmentSettingsSchema,
  errorSchema,
  healthSchema,
  liferayUploadResultSchema,
  listedBackupSchema,
  manifestSchema,
  paginationSchema,
  restoreSchema,
  retentionPreviewSchema,
  signedUrlSchema,
  storedPartSchema,
  tokenSchema,
  uploadSessionSchema,
} from "./schemas";

/*
 * The OpenAPI 3.1 document of every route Lifeboat serves: /api/v1 (Next
 * route handlers) and the byte paths served by plain Node in front of Next
 * (lib/http/node-routes.ts). Served at GET /api/v1/openapi.json; the
 * contract test (./contract.test.ts) calls every operation here and checks
 * the real answers against it.
 */

// ---------------------------------------------------------------- headers

const rateLimitHeaders = {
  "X-RateLimit-Limit": z.number().int().meta({ description: "Requests allowed per minute for this caller (API_RATE_LIMIT)." }),
  "X-RateLimit-Remaining": z.number().int().meta({ description: "Requests left in the current minute." }),
  "X-RateLimit-Reset": z.number().int().meta({ description: "When the current minute ends, in Unix seconds." }),
};
const withRateLimit = z.object(rateLimitHeaders);

// --------------------------------------------------------------- responses

function json(description: string, schema: z.ZodType, extraHeaders: Record<string, z.ZodType> = {}): ZodOpenApiResponseObject {
  return { description, headers: z.object({ ...rateLimitHeaders, ...extraHeaders }), content: { "application/json": { schema } } };
}

function error(description: string): ZodOpenApiResponseObject {
  return { description, headers: withRateLimit, content: { "application/json": { schema: errorSchema } } };
}

const noContent = (description: string): ZodOpenApiResponseObject => ({ description, headers: withRateLimit });

const unauthorized: ZodOpenApiResponseObject = {
  description: "No valid session or API token. Not counted against the rate limit, so no X-RateLimit headers.",
  content: { "application/json": { schema: errorSchema } },
};
const rateLimited: ZodOpenApiResponseObject = {
  description: "Over the rate limit: wait `Retry-After` seconds.",
  headers: z.object({ ...rateLimitHeaders, "Retry-After": z.number().int().meta({ description: "Seconds until the next minute starts." }) }),
  content: { "application/json": { schema: errorSchema } },
};
/** Every authenticated /api/v1 operation can answer these. */
const common = { "401": unauthorized, "429": rateLimited };

const location = { Location: z.string().meta({ description: "Where to poll the created resource." }) };

// ------------------------------------------------------------- parameters

const projectId = z.string().meta({ description: "The project, e.g. `acme`.", example: "acme" });
const environmentName = z.string().meta({ description: "The environment's name in its project, e.g. `prd`.", example: "prd" });
const backupId = z
  .string()
  .regex(BACKUP_ID_PATTERN)
  .meta({ description: "`<project>-<letters>-<YYYYMMDDHHmm>`", example: "acme-lqgqnewltbexuewymq-201910031723" });
const fileKind = z.enum(["database", "volume"]).meta({ description: "`database` (the `.gz` dump) or `volume` (the `.tgz` of the document library)." });

const environmentPath = z.object({ projectId, environment: environmentName });
const backupPath = z.object({ backupId });

// ------------------------------------------------------------ other bodies

const listRestoresQuery = z.object({ limit: z.coerce.number().int().min(1).max(100).default(20).optional() });

const binary = (mediaType: string) => ({ [mediaType]: { schema: z.string().meta({ format: "binary" }) } });

// -------------------------------------------------------------- operations

const env = "/api/v1/projects/{projectId}/environments/{environment}";

function paths(): ZodOpenApiPathsObject {
  const listBackups: ZodOpenApiOperationObject = {
    operationId: "listBackups",
    tags: ["Backups"],
    summary: "An environment's backups, newest first",
    description:
      "Cloud 66's backups list: a page of backups with a `pagination` object, filtered by `db_type`, `status` and `origin`. " +
      "Page by number (`page`, `per_page`) or, fast at any depth, by `cursor` (`pagination.next_cursor`). Each backup says why retention " +
      "keeps it (`retention.kept_by`: newest, pinned, keep count, keep days, last N, hourly … yearly with the period) or that the next " +
      "retention run deletes it (`retention.expires`).",
    requestParams: { path: environmentPath, query: listBackupsQuerySchema },
    responses: {
      "200": json(
        "One page of backups.",
        z.object({
          response: z.array(listedBackupSchema),
          count: z.number().int().meta({ description: "How many backups are on this page." }),
          pagination: paginationSchema,
          permissions: z.object({ download: z.boolean(), upload: z.boolean(), create: z.boolean() }).meta({ description: "What the caller may do here." }),
        }),
      ),
      "400": error("A query parameter is not valid (e.g. an unknown `db_type`, or `page` with `cursor`)."),
      "404": error("No such environment, or the caller has no role in it."),
      ...common,
    },
  };

  return {
    "/api/v1/environments": {
      get: {
        operationId: "listEnvironments",
        tags: ["Environments"],
        summary: "The environments the caller has a role in",
        responses: {
          "200": json("The environments, with the caller's role.", z.object({ response: z.array(environmentSchema), count: z.number().int() })),
          ...common,
        },
      },
    },
    [env]: {
      get: {
        operationId: "getEnvironmentSettings",
        tags: ["Environments"],
        summary: "An environment's backup settings (administrators)",
        requestParams: { path: environmentPath },
        responses: {
          "200": json("The settings.", z.object({ response: environmentSettingsSchema })),
          "403": error("The caller is not an administrator of the environment."),
          "404": error("No such environment, or the caller has no role in it."),
          ...common,
        },
      },
      put: {
        operationId: "updateEnvironmentSettings",
        tags: ["Environments"],
        summary: "Replace an environment's backup settings (administrators)",
        description:
          "`dbPassword` left out keeps the stored password; null removes it. Changed retention rules are applied at once (as the sweep " +
          "would within ten minutes): `retention` lists what that deleted, or is null when the rules did not change.",
        requestParams: { path: environmentPath },
        requestBody: { required: true, content: { "application/json": { schema: settingsInputSchema } } },
        responses: {
          "200": json(
            "The settings as stored.",
            z.object({
              response: environmentSettingsSchema,
              retention: z
                .object({
                  deleted: z.array(z.string()).meta({ description: "The backups the new rules deleted." }),
                  skipped: z.array(z.object({ backupId: z.string(), reason: z.string() })).meta({ description: "Expired, but in use: left for the next run." }),
                })
                .nullable(),
            }),
          ),
          "400": error("The body is not JSON or a setting is not valid."),
          "403": error("The caller is not an administrator of the environment."),
          "404": error("No such environment, or the caller has no role in it."),
          ...common,
        },
      },
    },
    [`${env}/backups`]: {
      get: listBackups,
      post: {
        operationId: "createBackup",
        tags: ["Backups"],
        summary: "Make a backup now",
        description: "Trove's create: an optional name and description (no body is fine). The backup is queued and a worker runs it; poll `Location`.",
        requestParams: { path: environmentPath },
        requestBody: { content: { "application/json": { schema: createBackupSchema } } },
        responses: {
          "202": json("The queued backup.", z.object({ response: backupSchema }), location),
          "400": error("The body is not valid."),
          "403": error("The caller is not an administrator of the environment."),
          "404": error("No such environment, or the caller has no role in it."),
          "409": error("A backup, upload or restore holds the environment."),
          "422": error("The environment has no database source or volume folder."),
          ...common,
        },
      },
    },
    [`${env}/backups/import`]: {
      post: {
        operationId: "importBackup",
        tags: ["Backups"],
        summary: "Import an external backup from URLs",
        description: "Cloud 66's import: Lifeboat fetches both files and makes a backup of origin `imported`.",
        requestParams: { path: environmentPath },
        requestBody: { required: true, content: { "application/json": { schema: importBackupSchema } } },
        responses: {
          "202": json("The queued import.", z.object({ response: backupSchema }), location),
          "400": error("The body is not valid."),
          "403": error("The caller is not an administrator of the environment."),
          "404": error("No such environment, or the caller has no role in it."),
          "409": error("The environment is busy."),
          "422": error("A URL cannot be used."),
          ...common,
        },
      },
    },
    [`${env}/backup-task`]: {
      get: {
        operationId: "getBackupTask",
        tags: ["Backups"],
        summary: "The environment's backup task",
        description:
          "Cloud 66's backup task fields mapped onto the environment's schedule (`frequency`), retention (`keep_count`, `keep_days`) and `excluded_tables`.",
        requestParams: { path: environmentPath },
        responses: {
          "200": json("The backup task.", z.object({ response: backupTaskResponseSchema })),
          "404": error("No such environment, or the caller has no role in it."),
          ...common,
        },
      },
      put: {
        operationId: "updateBackupTask",
        tags: ["Backups"],
        summary: "Change the backup task (administrators)",
        description:
          "Fields left out keep their value. `excluded_tables` may be a list or a comma-separated string. `gzip` can only be true and " +
          "`run_on_replica_server` only false; `db_type` is read-only (it must match the environment's, or be `all`).",
        requestParams: { path: environmentPath },
        requestBody: { required: true, content: { "application/json": { schema: updateBackupTaskSchema } } },
        responses: {
          "200": json("The backup task as stored.", z.object({ response: backupTaskResponseSchema })),
          "400": error("The body is not valid (e.g. `frequency` is not a five-field cron expression)."),
          "403": error("The caller is not an administrator of the environment."),
          "404": error("No such environment, or the caller has no role in it."),
          "422": error("`gzip: false`, `run_on_replica_server: true`, or another `db_type`: things Lifeboat does not do."),
          ...common,
        },
      },
    },
    [`${env}/retention/preview`]: {
      post: {
        operationId: "previewRetention",
        tags: ["Backups"],
        summary: "What a retention policy would delete, before it is saved (administrators)",
        description:
          "The retention fields of the environment settings (`retentionKeepCount`, `retentionDays`, `retentionKeepLast`, " +
          "`retentionKeepHourly` … `retentionKeepYearly`); a field left out keeps its stored value, null turns the rule off. Nothing " +
          "changes. A backup in use when the rules are applied is skipped then, which the preview cannot know.",
        requestParams: { path: environmentPath },
        requestBody: { content: { "application/json": { schema: retentionPreviewBodySchema } } },
        responses: {
          "200": json("What the policy would delete and keep.", z.object({ response: retentionPreviewSchema })),
          "400": error("The body is not valid (e.g. a keep number below 1)."),
          "403": error("The caller is not an administrator of the environment."),
          "404": error("No such environment, or the caller has no role in it."),
          ...common,
        },
      },
    },
    [`${env}/backup-history`]: {
      get: {
        operationId: "getBackupHistory",
        tags: ["Backups"],
        summary: "An environment's backups over time, for charts",
        description: "Every backup of the last `days` days, oldest first: status, origin, duration, and the sizes of both files.",
        requestParams: { path: environmentPath, query: backupHistoryQuerySchema },
        responses: {
          "200": json("The history.", z.object({ response: backupHistorySchema })),
          "400": error("`days` is not 1 to 366."),
          "404": error("No such environment, or the caller has no role in it."),
          ...common,
        },
      },
    },
    [`${env}/restores`]: {
      get: {
        operationId: "listRestores",
        tags: ["Restores"],
        summary: "The latest restores into an environment, newest first",
        requestParams: { path: environmentPath, query: listRestoresQuery },
        responses: {
          "200": json("The restores.", z.object({ response: z.array(restoreSchema) })),
          "400": error("`limit` is not 1 to 100."),
          "404": error("No such environment, or the caller has no role in it."),
          ...common,
        },
      },
    },
    [`${env}/uploads`]: {
      post: {
        operationId: "createUpload",
        tags: ["Uploads"],
        summary: "Start (or resume) an Upload Backup",
        description: "Describe the two files; then send their parts to `PUT /api/v1/uploads/{uploadId}/parts/{partNumber}` and complete the session.",
        requestParams: { path: environmentPath },
        requestBody: { required: true, content: { "application/json": { schema: createUploadSchema } } },
        responses: {
          "201": json("A new upload session.", z.object({ session: uploadSessionSchema, resumed: z.literal(false) })),
          "200": json("The caller's open session for the same two files, to resume.", z.object({ session: uploadSessionSchema, resumed: z.literal(true) })),
          "400": error("The body is not valid."),
          "403": error("The caller may not upload backups here."),
          "404": error("No such environment, or the caller has no role in it."),
          "409": error("The environment is busy."),
          "413": error("A file is larger than Lifeboat accepts."),
          ...common,
        },
      },
    },
    "/api/v1/uploads/{sessionId}": {
      get: {
        operationId: "getUpload",
        tags: ["Uploads"],
        summary: "An upload session with the parts already stored",
        requestParams: { path: z.object({ sessionId: z.string() }) },
        responses: {
          "200": json("The session.", z.object({ session: uploadSessionSchema })),
          "403": error("Only the person who started the upload, or an administrator of its environment, may see it."),
          "404": error("No such upload session of the caller's."),
          ...common,
        },
      },
      delete: {
        operationId: "abortUpload",
        tags: ["Uploads"],
        summary: "Cancel an upload and delete its parts",
        requestParams: { path: z.object({ sessionId: z.string() }) },
        responses: {
          "204": noContent("Cancelled."),
          "404": error("No such upload session of the caller's."),
          "409": error("The session is being completed."),
          ...common,
        },
      },
    },
    "/api/v1/uploads/{sessionId}/complete": {
      post: {
        operationId: "completeUpload",
        tags: ["Uploads"],
        summary: "Every part is in: make the backup",
        requestParams: { path: z.object({ sessionId: z.string() }) },
        requestBody: { required: true, content: { "application/json": { schema: completeUploadSchema } } },
        responses: {
          "202": json("The backup is being generated; poll the session.", z.object({ session: uploadSessionSchema }), location),
          "400": error("The body is not valid."),
          "404": error("No such upload session of the caller's."),
          "409": error("Parts are missing, the session is not open, or the environment is busy."),
          "422": error("A file's SHA-256 does not match what was sent."),
          ...common,
        },
      },
    },
    "/api/v1/uploads/{uploadId}/parts/{partNumber}": {
      put: {
        operationId: "uploadPart",
        tags: ["Uploads", "Byte paths"],
        summary: "One part of an upload's file (byte path)",
        description:
          "Served by plain Node in front of Next.js; not rate limited. Send the part's exact length in Content-Length; " +
          "optionally its SHA-256 in `X-Part-SHA256`. Sending a part again replaces it.",
        requestParams: {
          path: z.object({ uploadId: z.string(), partNumber: z.coerce.number().int().min(1) }),
          header: z.object({
            "x-part-sha256": z
              .string()
              .regex(/^[0-9a-f]{64}$/)
              .optional(),
          }),
        },
        requestBody: { required: true, content: binary("application/octet-stream") },
        responses: {
          "200": { description: "The part is stored.", content: { "application/json": { schema: storedPartSchema } } },
          "400": { description: "A bad part number, length or checksum.", content: { "application/json": { schema: errorSchema } } },
          "401": { description: "No valid session or API token.", content: { "application/json": { schema: errorSchema } } },
          "404": { description: "No such upload of the caller's.", content: { "application/json": { schema: errorSchema } } },
          "409": { description: "The upload is no longer open.", content: { "application/json": { schema: errorSchema } } },
          "413": { description: "The part is longer than the upload's part size.", content: { "application/json": { schema: errorSchema } } },
        },
      },
    },
    "/api/v1/backups/{backupId}": {
      get: {
        operationId: "getBackup",
        tags: ["Backups"],
        summary: "One backup with its manifest",
        requestParams: { path: backupPath },
        responses: {
          "200": json(
            "The backup.",
            z.object({
              response: backupSchema.extend({ manifest: manifestSchema.nullable() }),
              permissions: z.object({ download: z.boolean() }),
            }),
          ),
          "400": error("Not a backup ID."),
          "404": error("No such backup, or the caller has no role in its environment."),
          ...common,
        },
      },
      delete: {
        operationId: "deleteBackup",
        tags: ["Backups"],
        summary: "Delete a backup and its files (administrators)",
        requestParams: { path: backupPath },
        responses: {
          "204": noContent("Deleted."),
          "403": error("The caller is not an administrator of the backup's environment."),
          "404": error("No such backup, or the caller has no role in its environment."),
          "409": error("The backup is in use (being made, restored from, or holding its environment's lock), or pinned."),
          ...common,
        },
      },
    },
    "/api/v1/backups/{backupId}/pin": {
      put: pinOperation("pin"),
      delete: pinOperation("unpin"),
    },
    "/api/v1/backups/{backupId}/files": {
      get: {
        operationId: "listBackupFiles",
        tags: ["Backups"],
        summary: "A backup's files",
        description: "Cloud 66's backup files list: the database `.gz` and the volume `.tgz`, with size, SHA-256 and download path.",
        requestParams: { path: backupPath },
        responses: {
          "200": json("The files (none yet while a backup runs).", z.object({ response: z.array(backupFileSchema), count: z.number().int() })),
          "400": error("Not a backup ID."),
          "404": error("No such backup, or the caller has no role in its environment."),
          ...common,
        },
      },
    },
    "/api/v1/backups/{backupId}/files/{kind}/url": {
      post: {
        operationId: "createBackupFileUrl",
        tags: ["Backups"],
        summary: "A time-limited link to one file",
        description:
          `Cloud 66's public URL to a backup file: an absolute \`/backup/download/{kind}/{backupId}?expires=…&signature=…\` link that works ` +
          `with no session or token until \`expires_at\`. \`expires_in\`: ${SIGNED_URL_MIN_SECONDS} to ${SIGNED_URL_MAX_SECONDS} seconds (default 3600). ` +
          "Audited as `backup.download_url` with who made it.",
        requestParams: { path: z.object({ backupId, kind: fileKind }) },
        requestBody: { content: { "application/json": { schema: createFileUrlSchema } } },
        responses: {
          "200": json("The link.", z.object({ response: signedUrlSchema })),
          "400": error("Not a backup ID, or `expires_in` out of range."),
          "403": error("The caller may not download this backup's files."),
          "404": error("No such backup or file kind, or the caller has no role in its environment."),
          "409": error("The backup is not completed, or has no such file."),
          ...common,
        },
      },
    },
    "/api/v1/backups/{backupId}/restore": {
      post: {
        operationId: "restoreBackup",
        tags: ["Restores"],
        summary: "Restore a backup into an environment (administrators)",
        description: "Into the backup's own environment, or another of its project (`environment`). A production target needs its name in `confirm`.",
        requestParams: { path: backupPath },
        requestBody: { content: { "application/json": { schema: restoreBackupSchema } } },
        responses: {
          "202": json("The queued restore; poll `Location`.", z.object({ response: restoreSchema }), location),
          "400": error("The body is not valid."),
          "403": error("The caller does not administer the target, or may not download the backup."),
          "404": error("No such backup, or the caller has no role in its environment."),
          "409": error("The target environment is busy."),
          "422": error("The backup is not completed, the target cannot take it, or `confirm` is missing for production."),
          ...common,
        },
      },
    },
    "/api/v1/restores/{restoreId}": {
      get: {
        operationId: "getRestore",
        tags: ["Restores"],
        summary: "One restore, with status and progress",
        requestParams: { path: z.object({ restoreId: z.string() }) },
        responses: {
          "200": json("The restore.", z.object({ response: restoreSchema })),
          "404": error("No such restore, or the caller has no role in its environment."),
          ...common,
        },
      },
    },
    "/api/v1/tokens": {
      get: {
        operationId: "listTokens",
        tags: ["Tokens"],
        summary: "The signed-in person's API tokens (browser session only)",
        responses: {
          "200": json("The tokens, newest first; never the tokens themselves.", z.object({ response: z.array(tokenSchema), count: z.number().int() })),
          "403": error("An API token cannot list tokens."),
          ...common,
        },
      },
      post: {
        operationId: "createToken",
        tags: ["Tokens"],
        summary: "Create an API token (browser session only)",
        requestBody: { required: true, content: { "application/json": { schema: createTokenSchema } } },
        responses: {
          "201": json("The token, shown this once in `token`.", z.object({ token: z.string(), response: tokenSchema })),
          "400": error("The body is not valid."),
          "403": error("An API token cannot create tokens."),
          ...common,
        },
      },
    },
    "/api/v1/tokens/{tokenId}": {
      delete: {
        operationId: "revokeToken",
        tags: ["Tokens"],
        summary: "Revoke one of the signed-in person's tokens (browser session only)",
        requestParams: { path: z.object({ tokenId: z.string() }) },
        responses: {
          "204": noContent("Revoked (or already revoked)."),
          "403": error("An API token cannot revoke tokens."),
          "404": error("No such token of the caller's."),
          ...common,
        },
      },
    },
    "/api/v1/openapi.json": {
      get: {
        operationId: "getOpenApiDocument",
        tags: ["Meta"],
        summary: "This document",
        security: [],
        responses: {
          "200": {
            description: "The OpenAPI 3.1 document. Anyone may read it; a signed-in caller's request counts against their limit.",
            content: {
              "application/json": {
                schema: z.looseObject({
                  openapi: z.string(),
                  info: z.looseObject({ title: z.string(), version: z.string() }),
                  paths: z.record(z.string(), z.unknown()),
                }),
              },
            },
          },
          "429": rateLimited,
        },
      },
    },
    "/api/health": {
      get: {
        operationId: "getHealth",
        tags: ["Meta"],
        summary: "Liveness and readiness",
        security: [],
        description: "Not rate limited.",
        responses: {
          "200": { description: "The console can serve.", content: { "application/json": { schema: healthSchema } } },
          "503": { description: "The database cannot be reached.", content: { "application/json": { schema: healthSchema } } },
        },
      },
    },
    "/api/v1/utils/backup/": {
      post: {
        operationId: "backupKeyDownload",
        tags: ["Byte paths"],
        summary: "A whole backup as one tar, with the backup key (SysReptor)",
        description:
          "SysReptor's backup endpoint (also without the trailing slash): enabled by BACKUP_KEY (at least 20 characters), and only for " +
          "a signed-in administrator of the backup's environment. `backup_id`, or the newest completed backup the caller administers " +
          "(narrowed by `project` and `environment`). With `aes_key` (64 hex characters) the tar is encrypted (LBAES1, see " +
          "docs/backup-key.md). Served by plain Node; not rate limited.",
        requestBody: { required: true, content: { "application/json": { schema: backupKeyRequestSchema } } },
        responses: {
          "200": {
            description: "The backup: `manifest.json`, `database.gz`, `volume.tgz` in a tar (encrypted: octet-stream).",
            headers: z.object({ "X-Backup-Id": z.string() }),
            content: { ...binary("application/x-tar"), ...binary("application/octet-stream") },
          },
          "400": { description: "Not JSON, unknown fields, or a bad `aes_key`.", content: { "application/json": { schema: errorSchema } } },
          "401": { description: "No session or API token.", content: { "application/json": { schema: errorSchema } } },
          "403": {
            description: "The key is wrong, or the caller does not administer the backup's environment.",
            content: { "application/json": { schema: errorSchema } },
          },
          "404": {
            description: "BACKUP_KEY is not set, or there is no such (completed) backup for the caller.",
            content: { "application/json": { schema: errorSchema } },
          },
          "409": { description: "The backup is not completed.", content: { "application/json": { schema: errorSchema } } },
          "413": { description: "The body is too large.", content: { "application/json": { schema: errorSchema } } },
        },
      },
    },
    "/metrics": {
      get: {
        operationId: "getMetrics",
        tags: ["Meta"],
        summary: "Prometheus metrics (METRICS_TOKEN)",
        description:
          "The Prometheus text format: per environment the newest completed backup's time, duration and sizes, the newest failure, " +
          "backups and restores by status, the job queue, and this instance's counters of bytes sent and received and of failures " +
          "(docs/metrics.md). Off (404) unless METRICS_TOKEN is set, and then only for that Bearer token: sessions and API tokens get " +
          "401. METRICS_LISTEN serves the same on an address of its own, without credentials. Served by plain Node; not rate limited.",
        security: [{ metrics: [] }],
        responses: {
          "200": {
            description: "The metrics.",
            content: { "text/plain": { schema: z.string().meta({ description: "Prometheus text exposition format 0.0.4." }) } },
          },
          "401": {
            description: "No metrics token, or another one.",
            headers: z.object({ "WWW-Authenticate": z.string().meta({ example: 'Bearer realm="metrics"' }) }),
            content: { "application/json": { schema: errorSchema } },
          },
          "404": { description: "METRICS_TOKEN is not set: no metrics on this port.", content: { "application/json": { schema: errorSchema } } },
        },
      },
    },
    "/backup/download/{kind}/{backupId}": {
      get: downloadOperation("get"),
      head: downloadOperation("head"),
    },
    "/backup/upload": {
      post: {
        operationId: "liferayUpload",
        tags: ["Byte paths"],
        summary: "Upload a backup in one request (Liferay backup service)",
        description:
          "The Liferay backup service's upload, verbatim: `multipart/form-data` with `database` (`.gz`) and `volume` (`.tgz`). " +
          "The environment comes from the host name, the token's scope, or the only project's production environment. Not rate limited.",
        requestBody: {
          required: true,
          content: {
            "multipart/form-data": {
              schema: z.object({ database: z.string().meta({ format: "binary" }), volume: z.string().meta({ format: "binary" }) }),
            },
          },
        },
        responses: {
          "201": {
            description: "The backup is stored and verified.",
            headers: z.object(location),
            content: { "application/json": { schema: liferayUploadResultSchema } },
          },
          "400": {
            description: "Not multipart, a field is missing, or the environment cannot be told.",
            content: { "application/json": { schema: errorSchema } },
          },
          "401": { description: "No valid session or API token.", content: { "application/json": { schema: errorSchema } } },
          "403": { description: "The caller may not upload backups there.", content: { "application/json": { schema: errorSchema } } },
          "404": {
            description: "No such environment for the caller: the host name's, the token's, or the caller's production environment.",
            content: { "application/json": { schema: errorSchema } },
          },
          "409": { description: "The environment is busy.", content: { "application/json": { schema: errorSchema } } },
          "413": { description: "A file is larger than Lifeboat accepts.", content: { "application/json": { schema: errorSchema } } },
          "422": { description: "A file is not what it claims to be (not gzip, not a tar).", content: { "application/json": { schema: errorSchema } } },
        },
      },
    },
  };
}

function pinOperation(what: "pin" | "unpin"): ZodOpenApiOperationObject {
  return {
    operationId: what === "pin" ? "pinBackup" : "unpinBackup",
    tags: ["Backups"],
    summary: what === "pin" ? "Pin a backup: no retention rule deletes it (administrators)" : "Unpin a backup (administrators)",
    description:
      what === "pin"
        ? "A pinned backup is kept by every retention run and cannot be deleted by hand until it is unpinned. Only a completed " +
          "backup can be pinned. Pinning a pinned backup changes nothing. Audited as `backup.pin`."
        : "Retention judges the backup by its rules again. Unpinning an unpinned backup changes nothing. Audited as `backup.unpin`.",
    requestParams: { path: backupPath },
    responses: {
      "200": json("The backup as it is now.", z.object({ response: backupSchema, permissions: z.object({ download: z.boolean() }) })),
      "400": error("Not a backup ID."),
      "403": error("The caller is not an administrator of the backup's environment."),
      "404": error("No such backup, or the caller has no role in its environment."),
      ...(what === "pin" ? { "409": error("The backup is not completed.") } : {}),
      ...common,
    },
  };
}

function downloadOperation(method: "get" | "head"): ZodOpenApiOperationObject {
  const jsonError = (description: string): ZodOpenApiResponseObject => ({ description, content: { "application/json": { schema: errorSchema } } });
  return {
    operationId: method === "get" ? "downloadBackupFile" : "headBackupFile",
    tags: ["Byte paths"],
    summary: method === "get" ? "Download one file of a backup (Liferay backup service)" : "A file's headers without the file",
    description:
      "The Liferay backup service's download paths, verbatim: `database` is the `.gz` dump, `volume` the `.tgz`. Single byte ranges " +
      "resume an interrupted download. The credential is a session, an API token, or a signed link's `expires` and `signature` " +
      "(then nothing else is looked at). Served by plain Node; not rate limited.",
    requestParams: {
      path: z.object({ kind: fileKind, backupId }),
      query: z.object({
        expires: z.string().regex(/^\d+$/).optional().meta({ description: "A signed link's expiry, Unix seconds." }),
        signature: z
          .string()
          .regex(/^[0-9a-f]{64}$/)
          .optional()
          .meta({ description: "A signed link's HMAC-SHA256, hex." }),
      }),
      header: z.object({ range: z.string().optional().meta({ description: "One byte range, e.g. `bytes=1048576-`." }) }),
    },
    responses: {
      "200": { description: "The whole file.", content: method === "get" ? binary("application/gzip") : undefined },
      ...(method === "get" ? { "206": { description: "The requested range.", content: binary("application/gzip") } } : {}),
      "400": jsonError("Not a backup ID."),
      "401": jsonError("No session, token or signed link."),
      "403": jsonError("The caller may not download this backup, or the signed link has expired or is not valid."),
      "404": jsonError("No such backup, or the caller has no role in its environment."),
      "409": jsonError("The backup is not completed, or has no such file."),
      ...(method === "get" ? { "416": jsonError("The range cannot be served.") } : {}),
    },
  };
}

export interface OpenApiOptions {
  /** The console's public address (LIFEBOAT_URL). */
  serverUrl: string;
}

export function createOpenApiDocument({ serverUrl }: OpenApiOptions) {
  return createDocument({
    openapi: "3.1.0",
    info: {
      title: "Lifeboat API",
      version: "1",
      description:
        "Backups of application environments: list, make, download, upload, import and restore them. Success bodies are " +
        '`{ "response": … }` (upload sessions: `{ "session": … }`); errors are `{ "error": { code, message, details? } }`.\n\n' +
        "**Rate limit:** every /api/v1 request of a known caller counts against a fixed one-minute window per person, across " +
        "their browser session and all their API tokens (API_RATE_LIMIT a minute, 600 by default), shared by every Lifeboat instance. Answers carry " +
        "`X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`; over the limit the answer is 429 `rate_limited` with " +
        "`Retry-After`. Requests without valid credentials are refused (401) before they are counted. The byte paths " +
        "(/backup/download/*, /backup/upload, the upload parts, the backup-key download /api/v1/utils/backup/), /api/auth/* and " +
        "/api/health are not rate limited.\n\n" +
        "**Sessions and other sites:** a change (any method but GET and HEAD) made with the session cookie must come from " +
        "Lifeboat's own pages: an `Origin` equal to the console's, or `Sec-Fetch-Site: same-origin`; JSON routes take only " +
        "`application/json` from a session. Scripts send an API token and are not affected. Who may reach what: docs/security.md.",
    },
    servers: [{ url: serverUrl }],
    security: [{ bearer: [] }, { dxpcloud: [] }, { basic: [] }, { session: [] }],
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "`Authorization: Bearer <token>`, a personal API token (`lbt_…`)." },
        dxpcloud: {
          type: "apiKey",
          in: "header",
          name: "dxpcloud-authorization",
          description: "`dxpcloud-authorization: Bearer <token>`, as the Liferay documents show.",
        },
        basic: { type: "http", scheme: "basic", description: "Your e-mail address and an API token: `curl -u user@domain.com:<token>`." },
        metrics: { type: "http", scheme: "bearer", description: "`Authorization: Bearer <METRICS_TOKEN>`, for GET /metrics only." },
        session: {
          type: "apiKey",
          in: "cookie",
          name: "next-auth.session-token",
          description: "The console's sign-in session (`__Secure-` prefixed over https).",
        },
      },
    },
    tags: [
      { name: "Environments" },
      { name: "Backups" },
      { name: "Restores" },
      { name: "Uploads" },
      { name: "Tokens" },
      { name: "Byte paths", description: "Served by plain Node in front of Next.js for speed; not rate limited." },
      { name: "Meta" },
    ],
    paths: withRequestSafetyResponses(paths()),
  });
}

const UNSAFE = ["post", "put", "patch", "delete"] as const;

/**
 * What every change can answer besides its own statuses (lib/http/same-origin.ts):
 * 403 when a browser session's change did not come from Lifeboat's own pages
 * (or a browser says another site sent it), and for JSON bodies 415 when a
 * session sends something else.
 */
function withRequestSafetyResponses(all: ZodOpenApiPathsObject): ZodOpenApiPathsObject {
  const crossSite: ZodOpenApiResponseObject = {
    description:
      "The caller may not do this — or a change made with a session cookie did not come from Lifeboat's own pages (no same-origin `Origin`), or a browser says another site sent it.",
    content: { "application/json": { schema: errorSchema } },
  };
  const notJson: ZodOpenApiResponseObject = {
    description: "A browser session sent a body that is not `application/json`.",
    content: { "application/json": { schema: errorSchema } },
  };
  for (const item of Object.values(all)) {
    for (const method of UNSAFE) {
      const operation = item[method];
      if (!operation?.responses) continue;
      operation.responses["403"] ??= crossSite;
      const body = operation.requestBody as { content?: Record<string, unknown> } | undefined;
      if (body?.content?.["application/json"]) operation.responses["415"] ??= notJson;
    }
  }
  return all;
}
