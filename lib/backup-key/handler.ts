import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Readable } from "node:stream";

import { and, desc, eq, inArray } from "drizzle-orm";
import { z } from "zod";

import { auditActorType, canAdministerEnvironment, isEnvironmentVisible } from "@/lib/auth/permissions";
import type { Actor } from "@/lib/auth/permissions";
import { getConfig } from "@/lib/config";
import { createEncryptStream, encryptedSize, parseAesKey, StreamCipherError } from "@/lib/crypto/stream-cipher";
import type { Db } from "@/lib/db/client";
import { getDb } from "@/lib/db/client";
import { recordAuditEvent } from "@/lib/db/queries/audit";
import { getBackup } from "@/lib/db/queries/backups";
import type { BackupWithFiles } from "@/lib/db/queries/backups";
import { backups, environments } from "@/lib/db/schema";
import type { Environment } from "@/lib/db/schema";
import { sendStream } from "@/lib/downloads/send-stream";
import { requireVisibleBackup } from "@/lib/backups/visible";
import { AppError } from "@/lib/errors";
import { callerOfNodeRequest, resolveActor } from "@/lib/http/actor";
import { clientAddress } from "@/lib/http/client-address";
import type { NodeHandler } from "@/lib/http/node-router";
import { logger } from "@/lib/logger";
import { countDownloadedBytes } from "@/lib/metrics/registry";
import { getStorage } from "@/lib/storage/instance";
import type { Storage } from "@/lib/storage/types";

import { backupArchive } from "./archive";

/*
 * `POST /api/v1/utils/backup/` — SysReptor's backup API, on Lifeboat's
 * backups (docs/backup-key.md). A high-privilege endpoint: it needs BOTH the
 * server's BACKUP_KEY in the body AND a signed-in administrator (session or
 * API token) of the backup's environment, like SysReptor's "system users in
 * combination with a BACKUP_KEY". Without BACKUP_KEY it does not exist (404).
 */

const MAX_BODY_BYTES = 64 * 1024;

/** The seed's body (`key`, `aes_key`), plus which backup: by id, or the newest completed one the caller administers. */
export const backupKeyRequestSchema = z.strictObject({
  key: z.string().max(4096),
  aes_key: z.string().max(256).optional(),
  backup_id: z.string().trim().min(1).max(200).optional(),
  project: z.string().trim().min(1).max(100).optional(),
  environment: z.string().trim().min(1).max(100).optional(),
});

export type BackupKeyRequest = z.infer<typeof backupKeyRequestSchema>;

/** Both sides hashed first: equal lengths for timingSafeEqual, and the compare time says nothing about the key's length. */
export function backupKeyMatches(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given, "utf8").digest();
  const b = createHash("sha256").update(expected, "utf8").digest();
  return timingSafeEqual(a, b);
}

async function readBody(req: IncomingMessage): Promise<BackupKeyRequest> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > MAX_BODY_BYTES) throw new AppError("payload_too_large", "The request body is too large for this endpoint.");
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > MAX_BODY_BYTES) throw new AppError("payload_too_large", "The request body is too large for this endpoint.");
    chunks.push(chunk as Buffer);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new AppError("bad_request", `The request body must be JSON, e.g. {"key": "<backup-key>"} or {"key": "<backup-key>", "aes_key": "<aes-key-as-hex>"}.`);
  }
  const parsed = backupKeyRequestSchema.safeParse(body);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ field: i.path.join("."), message: i.message }));
    throw new AppError("bad_request", issues.map((i) => (i.field ? `${i.field}: ${i.message}` : i.message)).join("; "), issues);
  }
  return parsed.data;
}

/**
 * The backup asked for: `backup_id`, or else the newest completed backup
 * among the environments the caller administers (narrowed by `project` and
 * `environment` when given). One that does not exist for the caller is a 404.
 */
async function selectBackup(db: Db, actor: Actor, input: BackupKeyRequest, productionOnly: boolean): Promise<BackupWithFiles & { environment: Environment }> {
  if (input.backup_id) {
    return requireVisibleBackup(actor, input.backup_id, { db, productionOnly });
  }
  if (input.environment && !input.project) throw new AppError("bad_request", "environment: name the project too (project and environment, e.g. acme and prd).");
  const candidates = (
    await db
      .select()
      .from(environments)
      .where(input.project ? eq(environments.projectId, input.project) : undefined)
  ).filter(
    (env) =>
      isEnvironmentVisible(actor, env, { productionOnly }) && canAdministerEnvironment(actor, env) && (!input.environment || env.name === input.environment),
  );
  const [newest] =
    candidates.length === 0
      ? []
      : await db
          .select({ id: backups.id })
          .from(backups)
          .where(
            and(
              eq(backups.status, "completed"),
              inArray(
                backups.environmentId,
                candidates.map((env) => env.id),
              ),
            ),
          )
          .orderBy(desc(backups.createdAt), desc(backups.id))
          .limit(1);
  const backup = newest ? await getBackup(db, { id: newest.id }) : undefined;
  if (!backup) {
    const where = input.project ? ` in ${input.project}${input.environment ? `-${input.environment}` : ""}` : "";
    throw new AppError("not_found", `There is no completed backup${where} in an environment you administer.`);
  }
  return backup;
}

async function assertStored(storage: Storage, backup: BackupWithFiles): Promise<void> {
  for (const file of backup.files) {
    const info = await storage.stat(file.storageKey);
    if (!info || info.size !== file.sizeBytes) {
      logger.error(
        { backupId: backup.id, kind: file.kind, key: file.storageKey, stored: info?.size ?? null, recorded: file.sizeBytes },
        "backup file is missing from storage or does not match its record",
      );
      throw new AppError("internal", `The ${file.kind} file of backup ${backup.id} is missing from storage or damaged. It has been logged.`);
    }
  }
}

export interface BackupKeyHandlerOptions {
  /** Where the key comes from; the default is the validated configuration (BACKUP_KEY). */
  backupKey?: () => string | undefined;
}

/**
 * Answers 200 with the backup as a tar (application/x-tar, Content-Length
 * exact) or, with `aes_key`, as the LBAES1 encryption of that tar
 * (application/octet-stream). 404 while BACKUP_KEY is not set, 401 without
 * a session or token, 400 for a bad body or AES key, 403 for a wrong key or
 * a caller who does not administer the environment, 404 for a backup that
 * does not exist for them, 409 for one that is not completed.
 */
export function createBackupKeyHandler(options: BackupKeyHandlerOptions = {}): NodeHandler {
  const configuredKey = options.backupKey ?? (() => getConfig().backupKey);
  return async (req, res) => {
    res.setHeader("cache-control", "no-store");
    const backupKey = configuredKey();
    if (!backupKey) {
      throw new AppError("not_found", "The backup API is disabled on this Lifeboat server: it is enabled by setting BACKUP_KEY (at least 20 characters).");
    }
    // The backup key in the body is a second secret no other site knows: the seed's curl line, which sends a cookie and no Origin, keeps working.
    const actor = await resolveActor(callerOfNodeRequest(req), { allowNonBrowser: true });
    if (!actor) throw new AppError("unauthorized", "Sign in, or send an API token (Authorization: Bearer <token>), together with the backup key.");
    const input = await readBody(req);
    const who = {
      actor: actor.email,
      actorType: auditActorType(actor),
      ip: clientAddress(req),
      userAgent: (req.headers["user-agent"] as string | undefined) ?? null,
    };
    if (!backupKeyMatches(input.key, backupKey)) {
      logger.warn({ actor: actor.email, ip: who.ip }, "backup-key request with a wrong key");
      throw new AppError("forbidden", "The backup key is wrong.");
    }
    if (input.aes_key !== undefined) {
      try {
        parseAesKey(input.aes_key);
      } catch (error) {
        if (error instanceof StreamCipherError) throw new AppError("bad_request", `aes_key: ${error.message}`);
        throw error;
      }
    }

    const db = getDb();
    const storage = getStorage();
    const backup = await selectBackup(db, actor, input, getConfig().productionOnly);
    const { environment } = backup;
    const label = `${environment.projectId}-${environment.name}`;
    if (!canAdministerEnvironment(actor, environment)) {
      throw new AppError("forbidden", `Only administrators of ${label} may download its backups with the backup key.`);
    }
    if (backup.status !== "completed") throw new AppError("conflict", `Backup ${backup.id} is ${backup.status}; only completed backups can be downloaded.`);
    await assertStored(storage, backup);

    const archive = backupArchive({ storage, backup, environment });
    const encrypted = input.aes_key !== undefined;
    let body: Readable = archive.stream;
    if (encrypted) body = archive.stream.pipe(createEncryptStream(input.aes_key!));
    // pipe() does not pass errors on: a failing source must fail the encrypted stream too.
    if (encrypted) archive.stream.once("error", (error) => body.destroy(error));
    const length = encrypted ? encryptedSize(archive.size) : archive.size;
    const fileName = `${backup.id}.tar${encrypted ? ".crypt" : ""}`;
    res.writeHead(200, {
      "content-type": encrypted ? "application/octet-stream" : "application/x-tar",
      "content-length": String(length),
      "content-disposition": `attachment; filename="${fileName}"`,
      "x-backup-id": backup.id,
    });
    const outcome = await sendStream(body, res, length);
    countDownloadedBytes(environment, "archive", outcome.bytesSent);
    if (!outcome.complete) archive.stream.destroy();
    try {
      await recordAuditEvent(db, {
        ...who,
        action: "backup.key_download",
        projectId: environment.projectId,
        environmentId: environment.id,
        backupId: backup.id,
        detail: {
          encrypted,
          selectedBy: input.backup_id ? "backup_id" : "newest",
          files: archive.files,
          bytesSent: outcome.bytesSent,
          length,
          complete: outcome.complete,
          ...(actor.tokenId ? { tokenId: actor.tokenId } : {}),
        },
      });
    } catch (error) {
      logger.error({ err: error, backupId: backup.id, actor: actor.email }, "could not record a backup-key download in the audit log");
    }
    if (outcome.storageError !== undefined) throw outcome.storageError; // the router logs it and cuts the connection
  };
}

/** For NODE_ROUTES: `{ methods: ["POST"], pattern: /^\/api\/v1\/utils\/backup\/?$/, handler: serveBackupKeyDownload }`. */
export const serveBackupKeyDownload: NodeHandler = createBackupKeyHandler();
