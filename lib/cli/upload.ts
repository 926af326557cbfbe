import { createReadStream, createWriteStream } from "node:fs";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, open, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";

import { volumeTarStream } from "@/lib/backups/engine/volume";
import type { BackupJson } from "@/lib/backups/serialize";
import { FILE_RULES } from "@/lib/uploads/files";
import type { UploadSessionView, UploadView } from "@/lib/uploads/view";

import { CliError, EXIT, usageError } from "./errors";
import { formatBytes } from "./format";
import { sha256File } from "./hash";
import { errorFromResponse, readBody, sleep, withRetries } from "./http";
import type { LifeboatHttp } from "./http";
import type { Progress, ProgressBar } from "./progress";

type FileKind = "database" | "volume";

export interface UploadOptions {
  http: LifeboatHttp;
  project: string;
  environment: string;
  /** The document library folder; it is tarred as `document_library/…`, whatever it is called here. */
  doclib: string;
  /** A gzip'd SQL dump. */
  database: string;
  concurrency: number;
  progress: Progress;
  signal?: AbortSignal;
  /** Where to note an upload that reached "complete", so a rerun follows it rather than uploading again (the config folder). */
  stateDir?: string;
  /** How often to ask whether the backup is made (ms). */
  pollMs?: number;
  retryBaseMs?: number;
}

export interface UploadResult {
  sessionId: string;
  backupId: string;
  /** The server already had an open upload of these files. */
  resumed: boolean;
  /** Part numbers this run sent, per file; the rest were on the server already. */
  sent: Record<FileKind, number[]>;
  /** Verification's warning (e.g. table-name case) to fix before a restore; null when clean. */
  warning: string | null;
  backup: BackupJson | null;
}

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);

/** Before any work: the dump must be a non-empty gzip file, or the server would refuse it after the whole upload. */
export async function checkDatabaseFile(file: string): Promise<number> {
  let info;
  try {
    info = await stat(file);
  } catch {
    throw usageError(`${file} does not exist.`);
  }
  if (!info.isFile()) throw usageError(`${file} is not a file; --database takes a gzip'd SQL dump like database.gz.`);
  if (info.size === 0) throw usageError(`${file} is empty; --database takes a gzip'd SQL dump like database.gz.`);
  const handle = await open(file, "r");
  try {
    const head = Buffer.alloc(2);
    await handle.read(head, 0, 2, 0);
    if (!head.equals(GZIP_MAGIC)) {
      throw usageError(`${file} is not gzip-compressed; compress the dump first (gzip -k ${path.basename(file)}) and pass the .gz file.`);
    }
  } finally {
    await handle.close();
  }
  return info.size;
}

export async function checkDoclibFolder(folder: string): Promise<void> {
  let info;
  try {
    info = await stat(folder);
  } catch {
    throw usageError(`${folder} does not exist.`);
  }
  if (!info.isDirectory()) throw usageError(`${folder} is not a folder; --doclib takes the document_library folder.`);
}

/**
 * `cd <doclib>/.. && tar -czf volume.tgz document_library`, whatever the
 * folder is called: the same stream the backup engine archives a volume
 * with, so uploads and made backups look alike to verify and restore. The
 * output is the same bytes for an unchanged folder (node-tar's `portable`,
 * gzip without a timestamp), which is what lets a rerun resume.
 */
export async function tarDoclib(folder: string, into: string): Promise<void> {
  await pipeline(await volumeTarStream(folder), createGzip({ level: 6 }), createWriteStream(into));
}

function partRange(upload: UploadView, partNumber: number): { start: number; end: number } {
  const start = (partNumber - 1) * upload.partSize;
  return { start, end: Math.min(upload.size, start + upload.partSize) - 1 };
}

/** Both files up through the chunked upload protocol, then the backup made from them. */
export async function uploadBackup(opts: UploadOptions): Promise<UploadResult> {
  const databaseName = path.basename(opts.database);
  await checkDatabaseFile(opts.database);
  await checkDoclibFolder(opts.doclib);

  const temp = await mkdtemp(path.join(tmpdir(), "lifeboat-upload-"));
  try {
    const volumeFile = path.join(temp, "volume.tgz");
    opts.progress.log(`Archiving ${opts.doclib} as document_library/ …`);
    await tarDoclib(opts.doclib, volumeFile);
    const files: Record<FileKind, { path: string; fileName: string; size: number; sha256: string }> = {
      database: {
        path: opts.database,
        // The server takes the name for display only, but insists on the .gz rule.
        fileName: FILE_RULES.database.accepts(databaseName) ? databaseName : "database.gz",
        size: (await stat(opts.database)).size,
        sha256: await sha256File(opts.database),
      },
      volume: { path: volumeFile, fileName: "volume.tgz", size: (await stat(volumeFile)).size, sha256: await sha256File(volumeFile) },
    };
    opts.progress.log(`database: ${files.database.fileName}, ${formatBytes(files.database.size)}; volume: volume.tgz, ${formatBytes(files.volume.size)}`);

    const base = `/api/v1/projects/${encodeURIComponent(opts.project)}/environments/${encodeURIComponent(opts.environment)}`;
    const describe = (kind: FileKind) => ({ fileName: files[kind].fileName, size: files[kind].size, sha256: files[kind].sha256 });
    const marker = opts.stateDir
      ? path.join(
          opts.stateDir,
          "uploads",
          `${createHash("sha256").update([opts.http.baseUrl, opts.project, opts.environment, files.database.sha256, files.volume.sha256].join("\n")).digest("hex")}.json`,
        )
      : null;

    // An earlier run of these same files got as far as "complete": follow that upload instead of sending everything again.
    const earlier = marker ? await findEarlierUpload(opts, marker) : null;
    let session: UploadSessionView;
    let resumed = false;
    if (earlier) {
      session = earlier;
      resumed = true;
      opts.progress.log(`Upload ${session.id} of these files is already ${session.status}; following it.`);
    } else {
      const created = await opts.http.json<{ session: UploadSessionView; resumed: boolean }>(
        "POST",
        `${base}/uploads`,
        { database: describe("database"), volume: describe("volume") },
        { signal: opts.signal, what: `Starting the upload to ${opts.project}-${opts.environment}` },
      );
      ({ session, resumed } = created.body);
      if (resumed) opts.progress.log(`Resuming upload ${session.id}: the server has part of these files already.`);
      if (marker) {
        await mkdir(path.dirname(marker), { recursive: true, mode: 0o700 });
        await writeFile(marker, JSON.stringify({ upload_id: session.id, url: opts.http.baseUrl, project: opts.project, environment: opts.environment }), {
          mode: 0o600,
        });
      }
    }

    const sent: Record<FileKind, number[]> = { database: [], volume: [] };
    if (session.status === "open") {
      await sendParts(opts, session, files, sent);
      await opts.http.json(
        "POST",
        `/api/v1/uploads/${session.id}/complete`,
        { database: { sha256: files.database.sha256 }, volume: { sha256: files.volume.sha256 } },
        { signal: opts.signal, what: "Completing the upload" },
      );
    }
    opts.progress.log("Every part is in; the server is verifying the files and making the backup …");
    let finished: UploadSessionView;
    try {
      finished = await waitForUpload(opts, session.id);
    } catch (error) {
      // Failed for good: a rerun starts afresh. Interrupted or unreachable: a rerun follows this upload again.
      if (marker && error instanceof CliError && error.exitCode === EXIT.remoteFailed) await rm(marker, { force: true });
      throw error;
    }
    if (marker) await rm(marker, { force: true });
    const backupId = finished.backupId!;
    const backup = await opts.http
      .json<{ response: BackupJson }>("GET", `/api/v1/backups/${backupId}`, undefined, { signal: opts.signal })
      .then((r) => r.body.response)
      .catch(() => null);
    if (backup && backup.status !== "completed") {
      throw new CliError(
        `Backup ${backupId} was made from the upload but is ${backup.status}${backup.status_reason ? `: ${backup.status_reason}` : "."}`,
        EXIT.remoteFailed,
      );
    }
    const warning = finished.verification?.status === "warning" ? finished.verification.result : null;
    return { sessionId: session.id, backupId, resumed, sent, warning, backup };
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

async function sendParts(
  opts: UploadOptions,
  session: UploadSessionView,
  files: Record<FileKind, { path: string; fileName: string; size: number }>,
  sent: Record<FileKind, number[]>,
): Promise<void> {
  const queue: { upload: UploadView; partNumber: number; bar: ProgressBar }[] = [];
  for (const upload of session.uploads) {
    const held = upload.uploadedParts.reduce((sum, p) => sum + p.size, 0);
    const bar = opts.progress.bar(files[upload.kind].fileName, upload.size, 0);
    if (held > 0)
      opts.progress.log(`${files[upload.kind].fileName}: the server holds ${upload.uploadedParts.length} of ${upload.partCount} parts; checking them.`);
    for (let n = 1; n <= upload.partCount; n++) queue.push({ upload, partNumber: n, bar });
  }
  const remaining = new Map(session.uploads.map((u) => [u.kind, u.partCount]));
  const bars = new Map(queue.map((q) => [q.upload.kind, q.bar]));

  let next = 0;
  let failure: unknown = null;
  const worker = async () => {
    while (failure === null && next < queue.length && !opts.signal?.aborted) {
      const item = queue[next++]!;
      try {
        const wasSent = await sendPart(opts, item.upload, files[item.upload.kind].path, item.partNumber, item.bar);
        if (wasSent) sent[item.upload.kind].push(item.partNumber);
        const left = remaining.get(item.upload.kind)! - 1;
        remaining.set(item.upload.kind, left);
        if (left === 0) bars.get(item.upload.kind)?.done(`${item.upload.partCount} parts`);
      } catch (error) {
        failure ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency, queue.length)) }, worker));
  if (failure === null && opts.signal?.aborted) failure = opts.signal.reason;
  if (failure !== null) throw failure;
  for (const kind of Object.keys(sent) as FileKind[]) sent[kind].sort((a, b) => a - b);
}

/** Hashes the part; sends it unless the server already holds exactly these bytes. Says whether it sent it. */
async function sendPart(opts: UploadOptions, upload: UploadView, file: string, partNumber: number, bar: ProgressBar): Promise<boolean> {
  const range = partRange(upload, partNumber);
  const length = range.end - range.start + 1;
  const sha256 = await sha256File(file, range);
  const held = upload.uploadedParts.find((p) => p.partNumber === partNumber);
  if (held && held.sha256 === sha256 && held.size === length) {
    bar.add(length);
    return false;
  }
  await withRetries(
    async () => {
      let counted = 0;
      try {
        const res = await opts.http.request({
          method: "PUT",
          path: upload.partUrl.replace("{partNumber}", String(partNumber)),
          headers: { "content-length": String(length), "content-type": "application/octet-stream", "x-part-sha256": sha256 },
          body: () => {
            const stream = createReadStream(file, { ...range, highWaterMark: 1024 * 1024 });
            stream.on("data", (chunk) => {
              counted += chunk.length;
              bar.add(chunk.length);
            });
            return stream;
          },
          signal: opts.signal,
        });
        if (res.statusCode !== 200) throw await errorFromResponse(res, `Sending part ${partNumber} of ${upload.fileName}`);
        await readBody(res);
        // Whatever the socket took before the answer is what counts; the answer says all of it arrived.
        bar.add(length - counted);
        counted = length;
      } catch (error) {
        bar.add(-counted);
        throw error;
      }
    },
    {
      signal: opts.signal,
      attempts: 8,
      baseDelayMs: opts.retryBaseMs,
      onRetry: (error) => opts.progress.log(`Retrying part ${partNumber} of ${upload.fileName}: ${(error as Error).message}`),
    },
  );
  return true;
}

/** The upload an earlier run recorded, if the server is finishing or has finished it; null to start (or resume) normally. */
async function findEarlierUpload(opts: UploadOptions, marker: string): Promise<UploadSessionView | null> {
  let uploadId: string;
  try {
    uploadId = (JSON.parse(await readFile(marker, "utf8")) as { upload_id: string }).upload_id;
  } catch {
    return null;
  }
  const found = await opts.http
    .json<{ session: UploadSessionView }>("GET", `/api/v1/uploads/${encodeURIComponent(uploadId)}`, undefined, { signal: opts.signal })
    .then((r) => r.body.session)
    .catch((error: unknown) => {
      if (error instanceof CliError && (error.exitCode === EXIT.notFound || error.exitCode === EXIT.usage)) return null;
      throw error;
    });
  if (found && (found.status === "completing" || (found.status === "completed" && found.backupId))) return found;
  if (!found || found.status !== "open") await rm(marker, { force: true });
  return null;
}

async function waitForUpload(opts: UploadOptions, sessionId: string): Promise<UploadSessionView> {
  for (;;) {
    const { body } = await opts.http.json<{ session: UploadSessionView }>("GET", `/api/v1/uploads/${sessionId}`, undefined, { signal: opts.signal });
    const { session } = body;
    if (session.status === "completed" && session.backupId) return session;
    if (session.status !== "open" && session.status !== "completing") {
      throw new CliError(session.statusReason ?? `The upload ended ${session.status}.`, EXIT.remoteFailed);
    }
    await sleep(opts.pollMs ?? 1000, opts.signal);
  }
}
