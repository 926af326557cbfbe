import { collectDefaultMetrics, Counter, Gauge, Registry } from "prom-client";

import type { Environment } from "@/lib/db/schema";

/*
 * Lifeboat's Prometheus metrics. Two kinds, on purpose:
 *
 * - Gauges of state (last backup, sizes, counts, the job queue) are read
 *   from the database at every scrape (./collect.ts), so every instance
 *   answers the same and a restart loses nothing.
 * - Counters of events (bytes sent and received, failures) are counted in
 *   the process where they happen: each instance counts its own from its
 *   start, and Prometheus adds the instances up (sum by (…) of rate()).
 *
 * One registry per process, kept on globalThis like the database handle:
 * the byte paths, the job worker and the scrape must share it.
 */

const ENV = ["project", "environment"] as const;

function createInstruments() {
  const registry = new Registry();
  // The process's CPU, memory, event loop and GC: per instance, as a Node exporter has them.
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    // ---------------------------------------------------------------- gauges (the database, at scrape time)
    lastCompleted: new Gauge({
      name: "lifeboat_backup_last_completed_timestamp_seconds",
      help: "When the newest completed backup of the environment completed (Unix seconds).",
      labelNames: ENV,
      registers,
    }),
    lastDuration: new Gauge({
      name: "lifeboat_backup_last_duration_seconds",
      help: "How long the newest completed backup took, from start (or creation, for an upload) to completion.",
      labelNames: ENV,
      registers,
    }),
    lastSize: new Gauge({
      name: "lifeboat_backup_last_size_bytes",
      help: "The size of each file of the newest completed backup: file is database (database.gz) or volume (volume.tgz).",
      labelNames: [...ENV, "file"] as const,
      registers,
    }),
    lastFailed: new Gauge({
      name: "lifeboat_backup_last_failed_timestamp_seconds",
      help: "When the newest failed backup of the environment failed (Unix seconds); absent when none has.",
      labelNames: ENV,
      registers,
    }),
    backups: new Gauge({
      name: "lifeboat_backups",
      help: "The environment's backups by status (queued, running, completed, failed).",
      labelNames: [...ENV, "status"] as const,
      registers,
    }),
    pinned: new Gauge({ name: "lifeboat_backups_pinned", help: "The environment's pinned backups.", labelNames: ENV, registers }),
    lastRestoreFinished: new Gauge({
      name: "lifeboat_restore_last_finished_timestamp_seconds",
      help: "When the newest finished restore into the environment finished (Unix seconds).",
      labelNames: ENV,
      registers,
    }),
    lastRestoreDuration: new Gauge({
      name: "lifeboat_restore_last_duration_seconds",
      help: "How long the newest finished restore into the environment took.",
      labelNames: ENV,
      registers,
    }),
    lastRestoreSucceeded: new Gauge({
      name: "lifeboat_restore_last_success",
      help: "1 when the newest finished restore into the environment completed, 0 when it failed.",
      labelNames: ENV,
      registers,
    }),
    restores: new Gauge({
      name: "lifeboat_restores",
      help: "Restores into the environment by status (queued, running, completed, failed); finished ones are kept, so these only grow.",
      labelNames: [...ENV, "status"] as const,
      registers,
    }),
    jobsQueued: new Gauge({ name: "lifeboat_jobs_queued", help: "Jobs due to run and waiting for a worker, by queue.", labelNames: ["queue"], registers }),
    jobsOldestQueued: new Gauge({
      name: "lifeboat_jobs_oldest_queued_age_seconds",
      help: "How long the longest-waiting due job of the queue has waited; 0 when none waits.",
      labelNames: ["queue"],
      registers,
    }),
    jobsRunning: new Gauge({ name: "lifeboat_jobs_running", help: "Jobs a worker is running, by queue.", labelNames: ["queue"], registers }),
    // -------------------------------------------------------------- counters (events in this process)
    failures: new Counter({
      name: "lifeboat_backup_failures_total",
      help: "Backups that failed in this instance since it started: operation is create (scheduled and manual) or import.",
      labelNames: [...ENV, "operation"] as const,
      registers,
    }),
    restoreFailures: new Counter({
      name: "lifeboat_restore_failures_total",
      help: "Restores into the environment that failed in this instance since it started.",
      labelNames: ENV,
      registers,
    }),
    downloaded: new Counter({
      name: "lifeboat_downloaded_bytes_total",
      help: "Bytes of backup files this instance sent: file is database, volume, or archive (the backup-key download).",
      labelNames: [...ENV, "file"] as const,
      registers,
    }),
    uploaded: new Counter({
      name: "lifeboat_uploaded_bytes_total",
      help: "Bytes of backup files this instance received and stored (Upload Backup parts and POST /backup/upload).",
      labelNames: ENV,
      registers,
    }),
    retentionDeleted: new Counter({
      name: "lifeboat_retention_deleted_backups_total",
      help: "Backups retention deleted in this instance since it started.",
      labelNames: ENV,
      registers,
    }),
  };
}

export type Instruments = ReturnType<typeof createInstruments>;

const KEY = Symbol.for("lifeboat.metrics");

/** The process's registry and instruments, made on first use. */
export function getInstruments(): Instruments {
  const g = globalThis as Record<symbol, Instruments | undefined>;
  g[KEY] ??= createInstruments();
  return g[KEY];
}

type Labelled = Pick<Environment, "projectId" | "name">;
const labels = (environment: Labelled) => ({ project: environment.projectId, environment: environment.name });

/*
 * The hooks the byte paths and jobs call. Each is one addition to a counter:
 * cheap, synchronous, and never throws into the code that counts.
 */

export function countBackupFailure(environment: Labelled, operation: "create" | "import"): void {
  getInstruments().failures.inc({ ...labels(environment), operation });
}

export function countRestoreFailure(environment: Labelled): void {
  getInstruments().restoreFailures.inc(labels(environment));
}

export function countDownloadedBytes(environment: Labelled, file: "database" | "volume" | "archive", bytes: number): void {
  if (bytes > 0) getInstruments().downloaded.inc({ ...labels(environment), file }, bytes);
}

export function countUploadedBytes(environment: Labelled, bytes: number): void {
  if (bytes > 0) getInstruments().uploaded.inc(labels(environment), bytes);
}

export function countRetentionDeleted(environment: Labelled, count: number): void {
  if (count > 0) getInstruments().retentionDeleted.inc(labels(environment), count);
}
