import { mkdir } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import { Writable } from "node:stream";

import type { BackupJson } from "@/lib/backups/serialize";
import { isWellFormedToken } from "@/lib/tokens/format";

import type { Env } from "./config";
import { configDir, normalizeUrl, readStoredConfig, resolveConnection, writeStoredConfig } from "./config";
import { DEFAULT_CONCURRENCY, downloadBackupFile, LOCAL_NAME, MAX_CONCURRENCY } from "./download";
import type { FileKind } from "./download";
import { CliError, EXIT, usageError } from "./errors";
import { formatBytes, formatTable } from "./format";
import { AbortedError, LifeboatHttp, readBody, sleep } from "./http";
import { barProgress, lineProgress, quietProgress } from "./progress";
import type { OutputStream, Progress } from "./progress";
import { uploadBackup } from "./upload";

/** Everything a command touches outside itself, so tests can run it in-process. */
export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  env: Env;
  cwd: string;
  /** Ctrl-C: transfers stop and keep their resume state. */
  signal?: AbortSignal;
  /** Polling interval for --wait and uploads (ms); tests shorten it. */
  pollMs?: number;
  /** First retry delay (ms); tests shorten it. */
  retryBaseMs?: number;
}

export interface CommonFlags {
  url?: string;
  progress?: boolean;
  json?: boolean;
}

export const DEFAULT_URL = "http://localhost:3000";

function print(io: CliIo, text: string): void {
  io.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
}

function printJson(io: CliIo, value: unknown): void {
  print(io, JSON.stringify(value, null, 2));
}

/** Bars on a terminal; plain lines in CI, in a pipe, or when stderr is not a TTY; only messages with --no-progress. */
export function chooseProgress(io: CliIo, flags: CommonFlags): Progress {
  if (flags.progress === false) return quietProgress(io.stderr);
  if (io.stderr.isTTY && !io.env.CI) return barProgress(io.stderr);
  return lineProgress(io.stderr);
}

/** 1..10,000; more is clamped with a note, less or not a number is a usage error. */
export function parseConcurrency(raw: string | undefined, io: CliIo): number {
  if (raw === undefined) return DEFAULT_CONCURRENCY;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw usageError(`--concurrency takes a whole number from 1 to ${MAX_CONCURRENCY}, not "${raw}".`);
  if (value > MAX_CONCURRENCY) {
    io.stderr.write(`lifeboat: --concurrency ${value} is more than ${MAX_CONCURRENCY}; using ${MAX_CONCURRENCY}.\n`);
    return MAX_CONCURRENCY;
  }
  return value;
}

async function client(io: CliIo, flags: CommonFlags, maxSockets = 16): Promise<LifeboatHttp> {
  return new LifeboatHttp(await resolveConnection(io.env, flags), { maxSockets });
}

async function withClient<T>(io: CliIo, flags: CommonFlags, run: (http: LifeboatHttp) => Promise<T>, maxSockets?: number): Promise<T> {
  const http = await client(io, flags, maxSockets);
  try {
    return await run(http);
  } finally {
    http.close();
  }
}

function environmentPath(project: string, environment: string): string {
  return `/api/v1/projects/${encodeURIComponent(project)}/environments/${encodeURIComponent(environment)}`;
}

// ---------------------------------------------------------------- login

async function promptHidden(io: CliIo, question: string): Promise<string> {
  const stdin = io.stdin!;
  io.stderr.write(question);
  // A terminal that writes nowhere: readline still handles the keys, but echoes nothing.
  const muted = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  const rl = createInterface({ input: stdin, output: muted, terminal: true });
  try {
    return await new Promise<string>((resolve, reject) => {
      rl.once("line", resolve);
      // In raw mode Ctrl-C reaches readline, not the process: without this the prompt would just pause.
      rl.once("SIGINT", () => reject(new AbortedError()));
    });
  } finally {
    rl.close();
    io.stderr.write("\n");
  }
}

async function readToken(io: CliIo, flagToken: string | undefined): Promise<string> {
  if (flagToken) return flagToken;
  if (io.env.LIFEBOAT_TOKEN) return io.env.LIFEBOAT_TOKEN;
  const stdin = io.stdin;
  if (!stdin) throw usageError("No token: pass --token, set LIFEBOAT_TOKEN, or pipe it on stdin.");
  // Hidden input: the token never shows on screen or in scroll-back.
  if (stdin.isTTY) return promptHidden(io, "API token (create one on the Tokens page; input is hidden): ");
  return (await readBody(stdin as never)).toString("utf8");
}

export async function login(io: CliIo, flags: CommonFlags & { token?: string }): Promise<void> {
  const stored = await readStoredConfig(io.env);
  const url = normalizeUrl(flags.url ?? io.env.LIFEBOAT_URL ?? stored.url ?? DEFAULT_URL);
  const token = (await readToken(io, flags.token)).trim();
  if (!token) throw usageError("No token given.");
  if (!isWellFormedToken(token)) throw usageError("That is not a Lifeboat API token: they start with lbt_ and are 47 characters long.");
  const http = new LifeboatHttp({ url, token });
  try {
    const { body } = await http.json<{ response: { project: string; name: string; role: string | null }[] }>("GET", "/api/v1/environments", undefined, {
      signal: io.signal,
      what: `Checking the token with ${url}`,
    });
    const file = await writeStoredConfig(io.env, { url, token });
    const envs = body.response.map((e) => `${e.project}-${e.name}${e.role ? ` (${e.role})` : ""}`);
    io.stderr.write(
      `Logged in to ${url}; the token sees ${envs.length} environment${envs.length === 1 ? "" : "s"}${envs.length ? `: ${envs.join(", ")}` : ""}.\nSaved in ${file}.\n`,
    );
  } finally {
    http.close();
  }
}

// ---------------------------------------------------------------- backup list

export async function listBackups(io: CliIo, flags: CommonFlags & { project: string; environment: string; status?: string; limit?: string }): Promise<void> {
  const params = new URLSearchParams();
  if (flags.limit !== undefined) {
    const limit = Number(flags.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw usageError(`--limit takes a whole number from 1 to 100, not "${flags.limit}".`);
    params.set("limit", String(limit));
  }
  if (flags.status) params.set("status", flags.status);
  const query = params.size ? `?${params}` : "";
  const { body } = await withClient(io, flags, (http) =>
    http.json<{ response: BackupJson[] }>("GET", `${environmentPath(flags.project, flags.environment)}/backups${query}`, undefined, { signal: io.signal }),
  );
  if (flags.json) return printJson(io, body.response);
  if (body.response.length === 0) {
    io.stderr.write(`${flags.project}-${flags.environment} has no backups${flags.status ? ` with status ${flags.status}` : ""}.\n`);
    return;
  }
  const size = (b: BackupJson, kind: FileKind) => {
    const file = b.files.find((f) => f.kind === kind);
    return file ? formatBytes(file.size) : "-";
  };
  print(
    io,
    formatTable(
      ["ID", "STATUS", "ORIGIN", "CREATED (UTC)", "DATABASE", "VOLUME"],
      body.response.map((b) => [b.id, b.status, b.origin, b.created_at.replace("T", " ").slice(0, 16), size(b, "database"), size(b, "volume")]),
    ),
  );
}

// ---------------------------------------------------------------- backup download

/** A transfer stopped by Ctrl-C kept its state: say how to carry on. */
function resumeHint(io: CliIo, error: unknown): unknown {
  return io.signal?.aborted ? new AbortedError("Interrupted; run the same command again to resume.") : error;
}

export async function download(
  io: CliIo,
  flags: CommonFlags & { backupId: string; database?: boolean; doclib?: boolean; concurrency?: string; output?: string; chunkSize?: number },
): Promise<void> {
  const concurrency = parseConcurrency(flags.concurrency, io);
  const kinds: FileKind[] =
    flags.database || flags.doclib
      ? [...(flags.database ? (["database"] as const) : []), ...(flags.doclib ? (["volume"] as const) : [])]
      : ["database", "volume"];
  const output = path.resolve(io.cwd, flags.output ?? ".");
  const progress = chooseProgress(io, flags);
  try {
    const results = await withClient(
      io,
      flags,
      async (http) => {
        const { body } = await http.json<{ response: BackupJson; permissions?: { download?: boolean } }>(
          "GET",
          `/api/v1/backups/${encodeURIComponent(flags.backupId)}`,
          undefined,
          { signal: io.signal },
        );
        const backup = body.response;
        if (body.permissions?.download === false) {
          throw new CliError(
            `You may see backup ${backup.id} but not download it: only administrators of ${backup.project}-${backup.environment} can.`,
            EXIT.auth,
          );
        }
        if (backup.status !== "completed") {
          throw new CliError(`Backup ${backup.id} is ${backup.status}; only completed backups can be downloaded.`, EXIT.conflict);
        }
        await mkdir(output, { recursive: true });
        const done = [];
        for (const kind of kinds) {
          const file = backup.files.find((f) => f.kind === kind);
          if (!file) throw new CliError(`Backup ${backup.id} has no ${kind} file.`, EXIT.conflict);
          const result = await downloadBackupFile({
            http,
            backupId: backup.id,
            kind,
            dest: path.join(output, LOCAL_NAME[kind]),
            concurrency,
            chunkSize: flags.chunkSize,
            expectedSha256: file.sha256,
            progress,
            signal: io.signal,
            retryBaseMs: io.retryBaseMs,
          });
          done.push({ kind, path: result.path, size: result.size, sha256: result.sha256 });
        }
        return done;
      },
      concurrency,
    );
    if (flags.json) return printJson(io, results);
    for (const r of results) print(io, r.path);
  } catch (error) {
    throw resumeHint(io, error);
  } finally {
    progress.stop();
  }
}

// ---------------------------------------------------------------- backup upload

export async function upload(
  io: CliIo,
  flags: CommonFlags & { project: string; environment: string; doclib?: string; database?: string; concurrency?: string },
): Promise<void> {
  if (!flags.doclib || !flags.database) {
    // The server makes a backup only from both files (one restore point); say so before reading anything.
    throw usageError("A backup is a database dump and a document library together: pass both --database <file.gz> and --doclib <folder>.");
  }
  const concurrency = parseConcurrency(flags.concurrency, io);
  const progress = chooseProgress(io, flags);
  try {
    const result = await withClient(
      io,
      flags,
      (http) =>
        uploadBackup({
          http,
          project: flags.project,
          environment: flags.environment,
          doclib: path.resolve(io.cwd, flags.doclib!),
          database: path.resolve(io.cwd, flags.database!),
          concurrency,
          progress,
          signal: io.signal,
          stateDir: configDir(io.env),
          pollMs: io.pollMs,
          retryBaseMs: io.retryBaseMs,
        }),
      concurrency,
    );
    if (result.warning) io.stderr.write(`lifeboat: warning: ${result.warning}\n`);
    if (flags.json)
      return printJson(io, {
        backup_id: result.backupId,
        upload_id: result.sessionId,
        resumed: result.resumed,
        sent_parts: result.sent,
        warning: result.warning,
        backup: result.backup,
      });
    io.stderr.write(`Backup ${result.backupId} is ready.\n`);
    print(io, result.backupId);
  } catch (error) {
    throw resumeHint(io, error);
  } finally {
    progress.stop();
  }
}

// ---------------------------------------------------------------- backup create / restore

interface Pollable {
  id: string;
  status: string;
  status_reason: string | null;
  progress: { bytes: number; total_bytes: number | null };
  stage?: string | null;
}

/** Polls until completed (returns it) or failed (exit 7 with the server's reason). */
async function waitFor<T extends Pollable>(io: CliIo, http: LifeboatHttp, what: string, path: string, progress: Progress): Promise<T> {
  let bar: ReturnType<Progress["bar"]> | null = null;
  let lastStatus = "";
  for (;;) {
    const { body } = await http.json<{ response: T }>("GET", path, undefined, { signal: io.signal });
    const item = body.response;
    const stage = item.stage ? ` (${item.stage})` : "";
    if (`${item.status}${stage}` !== lastStatus) {
      lastStatus = `${item.status}${stage}`;
      progress.log(`${what} ${item.id}: ${lastStatus}`);
    }
    if (item.progress.total_bytes) {
      bar ??= progress.bar(what, item.progress.total_bytes, 0);
      bar.setTotal(item.progress.total_bytes);
      bar.update(item.progress.bytes);
    }
    if (item.status === "completed") {
      bar?.done();
      return item;
    }
    if (item.status === "failed") throw new CliError(`${what} ${item.id} failed: ${item.status_reason ?? "the server gave no reason"}`, EXIT.remoteFailed);
    await sleep(io.pollMs ?? 2000, io.signal);
  }
}

export async function createBackup(
  io: CliIo,
  flags: CommonFlags & { project: string; environment: string; name?: string; description?: string; wait?: boolean },
): Promise<void> {
  const progress = chooseProgress(io, flags);
  try {
    const backup = await withClient(io, flags, async (http) => {
      const body: Record<string, string> = {};
      if (flags.name !== undefined) body.name = flags.name;
      if (flags.description !== undefined) body.description = flags.description;
      const created = await http.json<{ response: BackupJson }>("POST", `${environmentPath(flags.project, flags.environment)}/backups`, body, {
        signal: io.signal,
      });
      const queued = created.body.response;
      if (!flags.wait) return queued;
      progress.log(`Backup ${queued.id} is queued.`);
      return waitFor<BackupJson>(io, http, "Backup", `/api/v1/backups/${queued.id}`, progress);
    });
    if (flags.json) return printJson(io, backup);
    print(io, backup.id);
  } finally {
    progress.stop();
  }
}

interface RestoreJson extends Pollable {
  backup_id: string;
  project: string;
  environment: string;
}

export async function restoreBackup(
  io: CliIo,
  flags: CommonFlags & { backupId: string; environment?: string; confirm?: string; wait?: boolean },
): Promise<void> {
  const progress = chooseProgress(io, flags);
  try {
    const restore = await withClient(io, flags, async (http) => {
      const body: Record<string, string> = {};
      if (flags.environment !== undefined) body.environment = flags.environment;
      if (flags.confirm !== undefined) body.confirm = flags.confirm;
      const created = await http
        .json<{ response: RestoreJson }>("POST", `/api/v1/backups/${encodeURIComponent(flags.backupId)}/restore`, body, { signal: io.signal })
        .catch((error: unknown) => {
          // The server speaks of the JSON field; say which flag that is.
          const expected = error instanceof CliError && error.status === 422 ? /send "confirm": "([^"]+)"/.exec(error.message)?.[1] : undefined;
          if (expected && error instanceof CliError) throw new CliError(`${error.message} With the CLI: --confirm ${expected}`, error.exitCode, error.status);
          throw error;
        });
      const queued = created.body.response;
      if (!flags.wait) return queued;
      progress.log(`Restore ${queued.id} of ${queued.backup_id} into ${queued.project}-${queued.environment} is queued.`);
      return waitFor<RestoreJson>(io, http, "Restore", `/api/v1/restores/${queued.id}`, progress);
    });
    if (flags.json) return printJson(io, restore);
    print(io, restore.id);
  } finally {
    progress.stop();
  }
}
