import type { FileHandle } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import type { Readable } from "node:stream";

import { auditActorType, canDownloadBackup } from "@/lib/auth/permissions";
import { requireVisibleBackup } from "@/lib/backups/visible";
import type { Actor } from "@/lib/auth/permissions";
import { parseBackupId } from "@/lib/backups/backup-id";
import { getDb } from "@/lib/db/client";
import { recordAuditEvent } from "@/lib/db/queries/audit";
import type { BackupFile, Environment } from "@/lib/db/schema";
import { AppError } from "@/lib/errors";
import { callerOfNodeRequest, resolveActor, resolveLinkMaker } from "@/lib/http/actor";
import { clientAddress } from "@/lib/http/client-address";
import type { NodeHandler } from "@/lib/http/node-router";
import { logger } from "@/lib/logger";
import { countDownloadedBytes } from "@/lib/metrics/registry";
import { isStorageError } from "@/lib/storage/errors";
import { getStorage } from "@/lib/storage/instance";
import type { ByteRange } from "@/lib/storage/types";

import { ifRangeMatches, parseRangeHeader } from "./range";
import { describeFile, isDownloadKind, representationHeaders } from "./representation";
import type { DownloadKind, Representation } from "./representation";
import { sendFileRange } from "./send-file";
import type { SendOutcome } from "./send-file";
import { sendStream } from "./send-stream";
import { hasSignature, verifySignedDownload } from "./signed-url";

interface DownloadTarget {
  backupId: string;
  kind: DownloadKind;
  environment: Environment;
  file: BackupFile;
  rep: Representation;
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function damagedFile(target: Pick<DownloadTarget, "backupId" | "kind" | "file">, cause: unknown): AppError {
  logger.error(
    { err: cause, backupId: target.backupId, kind: target.kind, key: target.file.storageKey },
    "backup file is missing from storage or does not match its record",
  );
  return new AppError("internal", `The ${target.kind} file of backup ${target.backupId} is missing from storage or damaged. It has been logged.`);
}

/** Every refusal in its order; a backup the actor may not see does not exist for them. */
async function findDownload(actor: Actor, backupId: string, kind: DownloadKind): Promise<DownloadTarget> {
  const backup = await requireVisibleBackup(actor, backupId);
  const { environment } = backup;
  if (!canDownloadBackup(actor, environment)) {
    throw new AppError("forbidden", `Only administrators of ${environment.projectId}-${environment.name} can download its backups.`);
  }
  if (backup.status !== "completed") {
    throw new AppError("conflict", `Backup ${backupId} is ${backup.status}; only completed backups can be downloaded.`);
  }
  const file = backup.files.find((f) => f.kind === kind);
  if (!file) throw new AppError("conflict", `Backup ${backupId} has no ${kind} file to download.`);
  const rep = describeFile(backupId, kind, file, backup.completedAt ?? file.createdAt);
  if (!rep) throw damagedFile({ backupId, kind, file }, new Error(`stored sha256 ${JSON.stringify(file.sha256)} is not a hex digest`));
  return { backupId, kind, environment, file, rep };
}

/** null: the whole file with 200. Range applies to GET only (RFC 9110 §14.2), so HEAD never gets here. */
function requestedRange(req: IncomingMessage, rep: Representation): ByteRange | null {
  if (!ifRangeMatches(firstHeader(req.headers["if-range"]), rep)) return null;
  const request = parseRangeHeader(req.headers.range, rep.size);
  if (request.kind === "full") return null;
  if (request.kind === "partial") return request.range;
  throw new AppError("range_not_satisfiable", `That byte range cannot be served: ${request.reason}. ${rep.fileName} is ${rep.size} bytes.`, undefined, {
    "content-range": `bytes */${rep.size}`,
    "accept-ranges": "bytes",
  });
}

/** Where the bytes come from: an open file where the driver keeps one (no per-chunk allocation), else a stream. */
type ObjectBody = { kind: "file"; handle: FileHandle } | { kind: "stream"; stream: Readable };

async function openBody(target: DownloadTarget, range: ByteRange | null): Promise<ObjectBody> {
  const storage = getStorage();
  const key = target.file.storageKey;
  try {
    if (!storage.openFile) return { kind: "stream", stream: await storage.getObject(key, range ?? undefined) };
    const { handle, size } = await storage.openFile(key);
    if (size !== target.rep.size) {
      await handle.close();
      throw damagedFile(target, new Error(`storage has ${size} bytes, the record says ${target.rep.size}`));
    }
    return { kind: "file", handle };
  } catch (error) {
    if (isStorageError(error, "not_found") || isStorageError(error, "invalid_range")) throw damagedFile(target, error);
    throw error;
  }
}

/** Never throws: by now the outcome, not the clean-up, is what the audit log and the client need. */
async function releaseBody(body: ObjectBody): Promise<void> {
  if (body.kind === "stream") {
    body.stream.destroy(); // a no-op once the transfer ended it; frees a socket if it never started
    return;
  }
  await body.handle.close().catch((error: unknown) => logger.warn({ err: error }, "could not close a backup file after a download"));
}

/** HEAD promises what a GET would deliver, so it checks the object is there at the recorded size. */
async function assertStored(target: DownloadTarget): Promise<void> {
  const info = await getStorage().stat(target.file.storageKey);
  if (!info || info.size !== target.rep.size) {
    throw damagedFile(target, new Error(`storage has ${info ? `${info.size} bytes` : "no object"}, the record says ${target.rep.size}`));
  }
}

interface Requester {
  /** The audit log's actor: a person or token, or `signed-url` for a time-limited link. */
  actor: { email: string; type: "user" | "token"; tokenId?: string; signedUrlExpires?: number; madeBy?: string };
  ip: string | null;
  userAgent: string | null;
}

/** Read up front: once the client has gone, its socket no longer knows the address. */
function requester(req: IncomingMessage, credential: Actor, link: SignedLink | null): Requester {
  const actor: Requester["actor"] = link
    ? // A link is a bearer credential like a token; who made it is in the `backup.download_url` row, and here as `madeBy`.
      { email: "signed-url", type: "token", signedUrlExpires: link.expires, madeBy: credential.email }
    : { email: credential.email, type: auditActorType(credential), tokenId: credential.tokenId };
  return { actor, ip: clientAddress(req), userAgent: firstHeader(req.headers["user-agent"]) ?? null };
}

interface SignedLink {
  expires: number;
  maker: string;
}

/**
 * A signed link acts for whoever made it, as they are now: its session or
 * token still active, and they themselves still allowed this download.
 * Anything else is the same 403, which tells the holder what to do and
 * nothing about the backup.
 */
async function linkActor(link: SignedLink): Promise<Actor> {
  const maker = await resolveLinkMaker(link.maker);
  if (!maker) {
    throw new AppError(
      "forbidden",
      "This download link no longer works: whoever made it has signed out or revoked the token it was made with. Ask for a new one.",
    );
  }
  return maker;
}

const LINK_MAKER_LOST_ACCESS = new AppError(
  "forbidden",
  "This download link no longer works: whoever made it may no longer download this file. Ask for a new one.",
);

async function recordDownload(who: Requester, target: DownloadTarget, detail: { range: ByteRange | null; status: number } & SendOutcome): Promise<void> {
  countDownloadedBytes(target.environment, target.kind, detail.bytesSent);
  try {
    await recordAuditEvent(getDb(), {
      action: "backup.download",
      actor: who.actor.email,
      actorType: who.actor.type,
      projectId: target.environment.projectId,
      environmentId: target.environment.id,
      backupId: target.backupId,
      ip: who.ip,
      userAgent: who.userAgent,
      detail: {
        kind: target.kind,
        fileName: target.rep.fileName,
        range: detail.range ? `${detail.range.start}-${detail.range.end}` : null,
        bytesSent: detail.bytesSent,
        complete: detail.complete,
        status: detail.status,
        ...(who.actor.tokenId ? { tokenId: who.actor.tokenId } : {}),
        ...(who.actor.signedUrlExpires
          ? { signedUrl: true, expiresAt: new Date(who.actor.signedUrlExpires * 1000).toISOString(), madeBy: who.actor.madeBy }
          : {}),
      },
    });
  } catch (error) {
    // The bytes are gone already; a failed audit write must be loud in the logs, not crash the server.
    logger.error(
      { err: error, backupId: target.backupId, actor: who.actor.email, bytesSent: detail.bytesSent },
      "could not record a download in the audit log",
    );
  }
}

/**
 * `GET|HEAD /backup/download/{database|volume}/{id}`, the Liferay backup
 * service's download paths: one file of a completed backup, streamed from
 * storage with single-range support so interrupted downloads resume.
 * HEAD answers the same headers and writes no audit row: it sends no file.
 * The credential is a session, an API token, or — when the query has
 * `expires` and `signature` — a time-limited signed link (./signed-url.ts),
 * which then is the only credential looked at: an expired or edited link is
 * a 403, never a fall-back to a cookie.
 */
export const serveBackupDownload: NodeHandler = async (req, res, params) => {
  const [kind, backupId = ""] = params;
  if (!isDownloadKind(kind)) throw new AppError("not_found", "There is no such download.");
  if (!parseBackupId(backupId)) {
    throw new AppError("bad_request", `"${backupId.slice(0, 100)}" is not a backup ID; they look like acme-lqgqnewltbexuewymq-201910031723.`);
  }
  const query = new URL(req.url ?? "/", "http://localhost").searchParams;
  let credential: Actor;
  let link: SignedLink | null = null;
  let target: DownloadTarget;
  if (hasSignature(query)) {
    link = verifySignedDownload({ kind, backupId, query });
    credential = await linkActor(link);
    target = await findDownload(credential, backupId, kind).catch((error: unknown) => {
      throw error instanceof AppError && (error.code === "not_found" || error.code === "forbidden") ? LINK_MAKER_LOST_ACCESS : error;
    });
  } else {
    const actor = await resolveActor(callerOfNodeRequest(req));
    if (!actor) throw new AppError("unauthorized", "Sign in, or send an API token (basic auth with your e-mail, or a Bearer token), to download backups.");
    credential = actor;
    target = await findDownload(credential, backupId, kind);
  }
  const headers = representationHeaders(target.rep);

  if (req.method === "HEAD") {
    await assertStored(target);
    res.writeHead(200, { ...headers, "content-length": String(target.rep.size) });
    res.end();
    return;
  }

  const range = requestedRange(req, target.rep);
  const body = await openBody(target, range);
  const status = range ? 206 : 200;
  const length = range ? range.end - range.start + 1 : target.rep.size;
  const who = requester(req, credential, link);
  let outcome: SendOutcome;
  try {
    res.writeHead(status, {
      ...headers,
      "content-length": String(length),
      ...(range ? { "content-range": `bytes ${range.start}-${range.end}/${target.rep.size}` } : {}),
    });
    outcome = body.kind === "file" ? await sendFileRange(body.handle, range?.start ?? 0, length, res) : await sendStream(body.stream, res, length);
  } finally {
    await releaseBody(body);
  }
  await recordDownload(who, target, { range, status, ...outcome });
  if (outcome.storageError !== undefined) throw outcome.storageError; // the router logs it and cuts the connection
  if (!outcome.complete) logger.debug({ backupId, kind, bytesSent: outcome.bytesSent, length }, "client stopped a download");
};
