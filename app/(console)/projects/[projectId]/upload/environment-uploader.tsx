"use client";

import Link from "next/link";
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { useDropzone } from "react-dropzone";

import { backupsQueryKey } from "@/components/hooks/use-backups-query";
import { Button } from "@/components/ui/button";
import { ProgressBar } from "@/components/ui/progress-bar";
import { formatBytes } from "@/lib/format";

import { checkFile } from "./file-checks";
import type { FileKind, UploadSnapshot } from "./upload-engine";
import { UploadJob } from "./upload-engine";

const SLOTS: { kind: FileKind; label: string; hint: string }[] = [
  { kind: "database", label: "Database", hint: ".gz — a gzip'd SQL dump" },
  { kind: "volume", label: "Document library", hint: ".tgz or .tar.gz of document_library" },
];

interface SlotState {
  file: File | null;
  error: string | null;
}

function Slot({
  kind,
  label,
  hint,
  state,
  disabled,
  onFile,
}: {
  kind: FileKind;
  label: string;
  hint: string;
  state: SlotState;
  disabled: boolean;
  onFile: (file: File) => void;
}) {
  const { getRootProps, getInputProps, isDragActive, open } = useDropzone({
    multiple: false,
    noClick: true,
    noKeyboard: true,
    disabled,
    onDrop: (accepted) => {
      const [file] = accepted;
      if (file) onFile(file);
    },
  });
  const errorId = `${kind}-slot-error`;
  return (
    <div
      {...getRootProps({
        className: `flex flex-1 flex-col items-center gap-2 rounded-lg border-2 border-dashed p-5 text-center ${
          isDragActive ? "border-blue-500 bg-blue-50" : state.error ? "border-red-300" : state.file ? "border-green-400" : "border-slate-300"
        }`,
      })}
    >
      <input {...getInputProps({ "aria-label": `${label} file` })} />
      <Button
        variant="secondary"
        className="h-12 w-12 rounded-full text-2xl"
        aria-label={`Add ${label.toLowerCase()} file`}
        aria-describedby={state.error ? errorId : undefined}
        disabled={disabled}
        onClick={open}
      >
        +
      </Button>
      <span className="font-medium">{label}</span>
      {state.file ? (
        <span className="text-sm text-slate-700">
          {state.file.name} · {formatBytes(state.file.size)}
        </span>
      ) : (
        <span className="text-xs text-slate-500">{hint}; click + or drop it here</span>
      )}
      {state.error && (
        <p id={errorId} role="alert" className="text-sm text-red-700">
          {state.error}
        </p>
      )}
    </div>
  );
}

function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return "—";
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.ceil(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.ceil((seconds % 3600) / 60)} min`;
}

function Progress({ snapshot }: { snapshot: UploadSnapshot }) {
  return (
    <div className="space-y-3">
      {snapshot.files.map((file) => {
        const percent = file.size ? Math.floor((file.sentBytes / file.size) * 100) : 0;
        return (
          <div key={file.kind}>
            <div className="flex justify-between text-sm">
              <span>{file.fileName}</span>
              <span className="text-slate-600">
                {formatBytes(file.sentBytes)} of {formatBytes(file.size)}
                {file.resumedBytes > 0 && ` (${formatBytes(file.resumedBytes)} already on the server)`}
              </span>
            </div>
            <ProgressBar
              label={`Upload of ${file.fileName}`}
              percent={percent}
              valueText={`${percent}%, ${formatBytes(file.sentBytes)} of ${formatBytes(file.size)}`}
            />
          </div>
        );
      })}
      {(snapshot.phase === "uploading" || snapshot.phase === "paused") && (
        <p className="text-sm text-slate-600">
          {snapshot.phase === "paused" ? "Paused" : `${formatBytes(snapshot.bytesPerSecond)}/s · ${formatDuration(snapshot.secondsLeft)} left`}
        </p>
      )}
    </div>
  );
}

/** The two + slots, Initiate Upload, and the upload's progress for one environment. */
export function EnvironmentUploader({ projectId, environment }: { projectId: string; environment: string }) {
  const queryClient = useQueryClient();
  const [slots, setSlots] = useState<Record<FileKind, SlotState>>({
    database: { file: null, error: null },
    volume: { file: null, error: null },
  });
  const [snapshot, setSnapshot] = useState<UploadSnapshot | null>(null);
  const job = useRef<UploadJob | null>(null);
  const busy = snapshot !== null && ["starting", "uploading", "paused", "verifying"].includes(snapshot.phase);

  useEffect(() => {
    if (!busy) return;
    // Leaving mid-upload loses nothing (it resumes), but people should know they are leaving.
    const warn = (event: BeforeUnloadEvent) => event.preventDefault();
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [busy]);

  useEffect(() => {
    if (snapshot?.phase === "completed") void queryClient.invalidateQueries({ queryKey: backupsQueryKey(projectId, environment) });
  }, [snapshot?.phase, queryClient, projectId, environment]);

  async function pick(kind: FileKind, file: File) {
    const error = await checkFile(kind, file);
    setSlots((s) => ({ ...s, [kind]: { file: error ? null : file, error } }));
  }

  function initiate() {
    const { database, volume } = slots;
    if (!database.file || !volume.file) return;
    const uploadJob = new UploadJob({ projectId, environment, files: { database: database.file, volume: volume.file }, onChange: setSnapshot });
    job.current = uploadJob;
    void uploadJob.start();
  }

  function reset() {
    job.current = null;
    setSnapshot(null);
    setSlots({ database: { file: null, error: null }, volume: { file: null, error: null } });
  }

  const ready = Boolean(slots.database.file && slots.volume.file);

  return (
    <div className="space-y-4">
      <div className="flex flex-col gap-4 sm:flex-row">
        {SLOTS.map((slot) => (
          <Slot key={slot.kind} {...slot} state={slots[slot.kind]} disabled={busy} onFile={(file) => void pick(slot.kind, file)} />
        ))}
      </div>

      {snapshot && <Progress snapshot={snapshot} />}

      <div aria-live="polite" role="status" className="text-sm">
        {snapshot?.phase === "starting" && "Starting the upload…"}
        {snapshot?.phase === "verifying" && "Both files are on the server. Verifying them and generating the backup…"}
        {snapshot?.retrying && snapshot.message}
        {snapshot?.phase === "completed" && snapshot.backupId && (
          <span className="block rounded-md bg-green-50 p-3 text-green-800">
            Backup <span className="font-mono">{snapshot.backupId}</span> was generated from your upload and added to {projectId}-{environment}.{" "}
            <Link className="font-medium underline" href={`/projects/${projectId}/${environment}/backups`}>
              See it in the Backups list
            </Link>
          </span>
        )}
        {snapshot?.phase === "cancelled" && snapshot.message}
      </div>
      {snapshot?.phase === "completed" && snapshot.warning && (
        <p className="rounded-md bg-amber-50 p-3 text-sm text-amber-900">Check before restoring: {snapshot.warning}</p>
      )}
      {snapshot?.phase === "failed" && (
        <p role="alert" className="rounded-md bg-red-50 p-3 text-sm text-red-800">
          The upload failed: {snapshot.message}
        </p>
      )}

      <div className="flex flex-wrap gap-3">
        {!snapshot || ["failed", "cancelled", "completed"].includes(snapshot.phase) ? (
          <>
            <Button onClick={initiate} disabled={!ready || busy}>
              Initiate Upload
            </Button>
            {snapshot && (
              <Button variant="secondary" onClick={reset}>
                Start over
              </Button>
            )}
          </>
        ) : (
          <>
            {snapshot.phase === "uploading" && (
              <Button variant="secondary" onClick={() => job.current?.pause()}>
                Pause
              </Button>
            )}
            {snapshot.phase === "paused" && <Button onClick={() => job.current?.resume()}>Resume</Button>}
            {snapshot.phase !== "verifying" && (
              <Button variant="danger" onClick={() => void job.current?.cancel()}>
                Cancel upload
              </Button>
            )}
          </>
        )}
      </div>
    </div>
  );
}
