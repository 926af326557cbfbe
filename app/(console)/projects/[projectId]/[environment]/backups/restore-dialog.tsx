"use client";

import Link from "next/link";
import { useId, useState } from "react";
import type { FormEvent } from "react";

import { useRestoreMutation } from "@/components/hooks/use-restores";
import { Button } from "@/components/ui/button";
import { ConfirmFooter, DialogClose, DialogContent } from "@/components/ui/dialog";
import type { BackupJson } from "@/lib/backups/serialize";

/** An environment of the project the person administers, so may restore into. */
export interface RestoreTarget {
  name: string;
  displayName: string;
  isProduction: boolean;
}

/**
 * Restore… from a backup's ⋮ menu: pick the environment to restore into
 * (this one by default), read what will be replaced, and for production type
 * the environment's name. The server checks all of it again.
 */
export function RestoreDialogContent({
  backup,
  projectId,
  targets,
  defaultTarget,
  onCloseAutoFocus,
}: {
  backup: BackupJson;
  projectId: string;
  targets: RestoreTarget[];
  defaultTarget: string;
  onCloseAutoFocus: (event: Event) => void;
}) {
  const targetId = useId();
  const confirmId = useId();
  const [targetName, setTargetName] = useState(targets.some((t) => t.name === defaultTarget) ? defaultTarget : (targets[0]?.name ?? ""));
  const [confirm, setConfirm] = useState("");
  const mutation = useRestoreMutation(projectId);
  const target = targets.find((t) => t.name === targetName);
  const confirmed = !target?.isProduction || confirm === target.name;

  function submit(event: FormEvent) {
    event.preventDefault();
    if (!target || !confirmed) return;
    mutation.mutate({ backupId: backup.id, environment: target.name, confirm: target.isProduction ? confirm : undefined });
  }

  return (
    <DialogContent title="Restore backup" description={<span className="font-mono">{backup.id}</span>} onCloseAutoFocus={onCloseAutoFocus}>
      {mutation.isSuccess ? (
        <div className="space-y-4">
          <p role="status" className="rounded-md bg-green-50 p-3 text-sm text-green-900">
            The restore into {projectId}-{mutation.data.response.environment} is queued. Its progress shows on that environment&apos;s Backups page.
          </p>
          <div className="flex justify-end gap-3">
            {mutation.data.response.environment !== defaultTarget && (
              <Link className="text-sm font-medium text-blue-700 underline" href={`/projects/${projectId}/${mutation.data.response.environment}/backups`}>
                Go to {projectId}-{mutation.data.response.environment}
              </Link>
            )}
            <DialogClose asChild>
              <Button variant="secondary">Close</Button>
            </DialogClose>
          </div>
        </div>
      ) : (
        <form onSubmit={submit} className="space-y-4">
          <div className="space-y-1">
            <label htmlFor={targetId} className="block text-sm font-medium text-slate-700">
              Restore into
            </label>
            <select
              id={targetId}
              value={targetName}
              onChange={(event) => {
                setTargetName(event.target.value);
                setConfirm("");
                mutation.reset();
              }}
              className="w-full rounded-md border border-slate-300 bg-white px-2 py-1.5 text-sm"
            >
              {targets.map((t) => (
                <option key={t.name} value={t.name}>
                  {projectId}-{t.name} ({t.displayName}){t.isProduction ? " — production" : ""}
                </option>
              ))}
            </select>
          </div>
          {target && (
            <p className="rounded-md bg-amber-50 p-3 text-sm text-amber-900">
              The database and the document library of{" "}
              <strong>
                {projectId}-{target.name}
              </strong>{" "}
              are replaced by this backup&apos;s. Both are loaded into staging first and swapped in only when everything checked out, so a failed restore leaves
              the environment as it is.
            </p>
          )}
          {target?.isProduction && (
            <div className="space-y-1">
              <label htmlFor={confirmId} className="block text-sm font-medium text-slate-700">
                Type <span className="font-mono">{target.name}</span> to confirm
              </label>
              <input
                id={confirmId}
                value={confirm}
                onChange={(event) => setConfirm(event.target.value)}
                autoComplete="off"
                spellCheck={false}
                className="w-full rounded-md border border-slate-300 px-2 py-1.5 font-mono text-sm"
              />
            </div>
          )}
          <ConfirmFooter
            error={mutation.isError ? mutation.error.message : null}
            action={
              <Button type="submit" variant="danger" disabled={!target || !confirmed || mutation.isPending} aria-busy={mutation.isPending}>
                {mutation.isPending ? "Queueing…" : target ? `Restore into ${projectId}-${target.name}` : "Restore"}
              </Button>
            }
          />
        </form>
      )}
    </DialogContent>
  );
}
