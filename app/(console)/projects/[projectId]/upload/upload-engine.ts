import { createSHA256 } from "hash-wasm";
import type { IHasher } from "hash-wasm";

import { ApiError, fetchJson } from "@/lib/api/client";
import type { UploadSessionView, UploadView } from "@/lib/uploads/view";

/*
 * The browser side of Upload Backup: reads each file once, in order, hashing
 * it whole and part by part, and sends the parts several at a time with
 * retries. Parts the server already holds (listed in the session) are only
 * hashed, not sent again — that is what makes a reload or a server restart
 * resumable once the person picks the same files again.
 */

export type FileKind = "database" | "volume";
export type UploadPhase = "starting" | "uploading" | "paused" | "verifying" | "completed" | "failed" | "cancelled";

export interface FileProgress {
  kind: FileKind;
  fileName: string;
  size: number;
  sentBytes: number;
  /** Bytes that were already on the server when this page (re)started the upload. */
  resumedBytes: number;
}

export interface UploadSnapshot {
  phase: UploadPhase;
  files: FileProgress[];
  bytesPerSecond: number;
  secondsLeft: number | null;
  message: string | null;
  backupId: string | null;
  /** Set when the backup was made but verification found something to fix before a restore. */
  warning: string | null;
  sessionId: string | null;
  retrying: boolean;
}

interface Part {
  upload: UploadView;
  partNumber: number;
  bytes: ArrayBuffer;
  sha256: string;
}

const MAX_ATTEMPTS = 8;
const POLL_MS = 1_000;
const SPEED_WINDOW_MS = 5_000;

class CancelledError extends Error {}

function backoff(attempt: number): number {
  return Math.min(30_000, 1_000 * 2 ** attempt) * (0.75 + Math.random() * 0.5);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(new CancelledError());
      },
      { once: true },
    );
  });
}

/** Whether a failed part is worth sending again: network trouble and server-side hiccups are, refusals are not. */
function isRetryable(status: number): boolean {
  return status === 0 || status === 408 || status === 429 || status >= 500;
}

export class UploadJob {
  private readonly controller = new AbortController();
  private readonly inFlight = new Set<XMLHttpRequest>();
  private snapshot: UploadSnapshot;
  private pausedWaiters: (() => void)[] = [];
  private paused = false;
  private samples: { at: number; bytes: number }[] = [];

  constructor(
    private readonly options: {
      projectId: string;
      environment: string;
      files: Record<FileKind, File>;
      onChange: (snapshot: UploadSnapshot) => void;
    },
  ) {
    this.snapshot = {
      phase: "starting",
      files: (["database", "volume"] as const).map((kind) => ({
        kind,
        fileName: options.files[kind].name,
        size: options.files[kind].size,
        sentBytes: 0,
        resumedBytes: 0,
      })),
      bytesPerSecond: 0,
      secondsLeft: null,
      message: null,
      backupId: null,
      warning: null,
      sessionId: null,
      retrying: false,
    };
  }

  private update(patch: Partial<UploadSnapshot>) {
    this.snapshot = { ...this.snapshot, ...patch };
    this.options.onChange(this.snapshot);
  }

  private addSent(kind: FileKind, delta: number, resumed = false) {
    const files = this.snapshot.files.map((f) =>
      f.kind === kind ? { ...f, sentBytes: f.sentBytes + delta, resumedBytes: f.resumedBytes + (resumed ? delta : 0) } : f,
    );
    if (!resumed) this.samples.push({ at: performance.now(), bytes: delta });
    const now = performance.now();
    this.samples = this.samples.filter((s) => now - s.at < SPEED_WINDOW_MS);
    const windowBytes = this.samples.reduce((sum, s) => sum + s.bytes, 0);
    const span = this.samples.length > 1 ? Math.max(1, now - this.samples[0]!.at) : SPEED_WINDOW_MS;
    const bytesPerSecond = (windowBytes / span) * 1000;
    const remaining = files.reduce((sum, f) => sum + f.size - f.sentBytes, 0);
    this.update({ files, bytesPerSecond, secondsLeft: bytesPerSecond > 0 ? remaining / bytesPerSecond : null });
  }

  async start(): Promise<void> {
    try {
      const session = await this.createSession();
      this.update({ sessionId: session.id });
      if (session.status === "open") {
        this.update({ phase: "uploading" });
        const hashes = await this.sendAll(session);
        this.update({ phase: "verifying", message: null });
        await fetchJson(`/api/v1/uploads/${session.id}/complete`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ database: { sha256: hashes.database }, volume: { sha256: hashes.volume } }),
          signal: this.controller.signal,
        });
      } else {
        this.update({ phase: "verifying" });
      }
      await this.waitForBackup(session.id);
    } catch (error) {
      if (error instanceof CancelledError || this.controller.signal.aborted) {
        this.update({ phase: "cancelled", message: "The upload was cancelled and the parts sent so far were deleted." });
        return;
      }
      this.update({ phase: "failed", message: error instanceof Error ? error.message : String(error) });
    }
  }

  pause() {
    if (this.snapshot.phase !== "uploading") return;
    this.paused = true;
    // Parts in flight are abandoned and sent again on resume.
    for (const xhr of this.inFlight) xhr.abort();
    this.update({ phase: "paused", bytesPerSecond: 0, secondsLeft: null });
  }

  resume() {
    if (!this.paused) return;
    this.paused = false;
    this.samples = [];
    this.update({ phase: "uploading" });
    for (const wake of this.pausedWaiters.splice(0)) wake();
  }

  async cancel() {
    this.controller.abort();
    for (const xhr of this.inFlight) xhr.abort();
    for (const wake of this.pausedWaiters.splice(0)) wake();
    const sessionId = this.snapshot.sessionId;
    if (sessionId) await fetch(`/api/v1/uploads/${sessionId}`, { method: "DELETE" }).catch(() => undefined);
  }

  private async createSession(): Promise<UploadSessionView> {
    const describe = (file: File) => ({ fileName: file.name, size: file.size, lastModified: file.lastModified });
    const { session } = await fetchJson<{ session: UploadSessionView }>(
      `/api/v1/projects/${encodeURIComponent(this.options.projectId)}/environments/${encodeURIComponent(this.options.environment)}/uploads`,
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ database: describe(this.options.files.database), volume: describe(this.options.files.volume) }),
        signal: this.controller.signal,
      },
    );
    return session;
  }

  /** Reads both files once, in order, feeding a bounded pool of senders; returns each whole file's SHA-256. */
  private async sendAll(session: UploadSessionView): Promise<Record<FileKind, string>> {
    const hashes = {} as Record<FileKind, string>;
    const partHasher = await createSHA256();
    const pool = new Set<Promise<void>>();
    let failure: unknown;

    for (const upload of session.uploads) {
      const file = this.options.files[upload.kind];
      const held = new Map(upload.uploadedParts.map((p) => [p.partNumber, p.sha256]));
      const whole = await createSHA256();
      for (let partNumber = 1; partNumber <= upload.partCount; partNumber++) {
        if (failure) throw failure;
        await this.whilePaused();
        const start = (partNumber - 1) * upload.partSize;
        const bytes = await file.slice(start, Math.min(file.size, start + upload.partSize)).arrayBuffer();
        whole.update(new Uint8Array(bytes));
        const sha256 = hashPart(partHasher, bytes);
        if (held.get(partNumber) === sha256) {
          this.addSent(upload.kind, bytes.byteLength, true);
          continue;
        }
        while (pool.size >= session.parallelParts) await Promise.race(pool);
        const sending: Promise<void> = this.sendPart({ upload, partNumber, bytes, sha256 })
          .catch((error: unknown) => {
            failure ??= error;
          })
          .finally(() => pool.delete(sending));
        pool.add(sending);
      }
      hashes[upload.kind] = whole.digest("hex");
    }
    await Promise.all(pool);
    if (failure) throw failure;
    return hashes;
  }

  private async whilePaused(): Promise<void> {
    while (this.paused) await new Promise<void>((resolve) => this.pausedWaiters.push(resolve));
    if (this.controller.signal.aborted) throw new CancelledError();
  }

  private async sendPart(part: Part): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      await this.whilePaused();
      let counted = 0;
      try {
        await this.put(part, (loaded) => {
          this.addSent(part.upload.kind, loaded - counted);
          counted = loaded;
        });
        if (this.snapshot.retrying) this.update({ retrying: false, message: null });
        return;
      } catch (error) {
        this.addSent(part.upload.kind, -counted);
        if (this.controller.signal.aborted) throw new CancelledError();
        if (this.paused) continue; // aborted by pause(): send it again on resume
        const status = error instanceof ApiError ? error.status : 0;
        if (!isRetryable(status) || attempt + 1 >= MAX_ATTEMPTS) throw error;
        this.update({ retrying: true, message: `Connection trouble; retrying part ${part.partNumber} of ${part.upload.fileName}…` });
        await sleep(backoff(attempt), this.controller.signal);
      }
    }
  }

  /** XMLHttpRequest rather than fetch: only it reports upload progress. */
  private put(part: Part, onProgress: (loaded: number) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      this.inFlight.add(xhr);
      xhr.open("PUT", part.upload.partUrl.replace("{partNumber}", String(part.partNumber)));
      xhr.setRequestHeader("x-part-sha256", part.sha256);
      xhr.setRequestHeader("content-type", "application/octet-stream");
      xhr.upload.onprogress = (event) => onProgress(event.loaded);
      xhr.onloadend = () => {
        this.inFlight.delete(xhr);
        if (xhr.status >= 200 && xhr.status < 300) {
          onProgress(part.bytes.byteLength);
          resolve();
          return;
        }
        let message = xhr.status === 0 ? "The connection to the server was lost." : `The server answered ${xhr.status}.`;
        let code = "network";
        try {
          const body = JSON.parse(xhr.responseText) as { error?: { code: string; message: string } };
          if (body.error) ({ code, message } = body.error);
        } catch {
          // not JSON: keep the generic message
        }
        reject(new ApiError(xhr.status, code, message));
      };
      xhr.send(part.bytes);
    });
  }

  private async waitForBackup(sessionId: string): Promise<void> {
    for (;;) {
      const { session } = await fetchJson<{ session: UploadSessionView }>(`/api/v1/uploads/${sessionId}`, {
        signal: this.controller.signal,
      });
      if (session.status === "completed") {
        const warning = session.verification?.status === "warning" ? session.verification.result : null;
        this.update({ phase: "completed", backupId: session.backupId, warning, bytesPerSecond: 0, secondsLeft: 0, message: null });
        return;
      }
      if (session.status !== "completing" && session.status !== "open") {
        throw new Error(session.statusReason ?? `The upload ended as ${session.status}.`);
      }
      await sleep(POLL_MS, this.controller.signal);
    }
  }
}

function hashPart(hasher: IHasher, bytes: ArrayBuffer): string {
  hasher.init();
  hasher.update(new Uint8Array(bytes));
  return hasher.digest("hex");
}
