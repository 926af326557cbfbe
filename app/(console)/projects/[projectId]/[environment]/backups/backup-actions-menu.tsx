"use client";

import { useRef, useState } from "react";

import { usePinBackupMutation } from "@/components/hooks/use-pin-backup-mutation";
import { Dialog, DialogContent } from "@/components/ui/dialog";
import { DropdownMenu, DropdownMenuContent, DropdownMenuItem, DropdownMenuTrigger } from "@/components/ui/dropdown-menu";
import { Button, buttonClasses } from "@/components/ui/button";
import { fetchJson } from "@/lib/api/client";
import type { BackupJson } from "@/lib/backups/serialize";
import { FILE_LABELS } from "@/lib/backups/serialize";
import { formatBytes } from "@/lib/format";

import { DeleteDialogContent } from "./delete-dialog";
import { RestoreDialogContent } from "./restore-dialog";
import type { RestoreTarget } from "./restore-dialog";

const LINK_SECONDS = 60 * 60;

/**
 * The ⋮ menu of one backup. Download opens the list of the backup's two
 * files (as in the Liferay console): Database (.gz) and Liferay (.tgz), each
 * with its size and SHA-256 so a person can check what they saved.
 * Restore… (administrators) restores it into this or another environment;
 * Pin / Unpin (administrators) keeps it from every retention rule;
 * Delete… (administrators) deletes it with its files.
 */
export function BackupActionsMenu({
  backup,
  canDownload,
  projectId,
  environment,
  restoreTargets,
  canDelete,
  onDeleted,
}: {
  backup: BackupJson;
  canDownload: boolean;
  projectId: string;
  environment: string;
  restoreTargets: RestoreTarget[];
  canDelete: boolean;
  onDeleted: (backupId: string) => void;
}) {
  const [announcement, setAnnouncement] = useState("");
  const [linkMessage, setLinkMessage] = useState("");
  const [openDialog, setOpenDialog] = useState<"download" | "restore" | "delete" | null>(null);
  const pinMutation = usePinBackupMutation(projectId, environment);
  const triggerRef = useRef<HTMLButtonElement>(null);
  const firstFileRef = useRef<HTMLAnchorElement>(null);
  // A dialog opens once the menu has finished closing: opened any earlier,
  // the menu's focus handling would pull focus back out of it.
  const openingDialog = useRef<"download" | "restore" | "delete" | null>(null);
  const usable = backup.status === "completed" && backup.files.length > 0;
  const downloadable = canDownload && usable;
  // Restoring reads the backup's files, so it needs the right to download them too (production backups).
  const restorable = downloadable && restoreTargets.length > 0;
  const returnFocus = (event: Event) => {
    // The dialog was opened from a menu that is gone by now: return focus to the ⋮ button.
    event.preventDefault();
    triggerRef.current?.focus();
  };

  /** A link that downloads the file without signing in, for an hour (POST …/files/{kind}/url). */
  async function copyLink(kind: "database" | "volume") {
    try {
      const { response } = await fetchJson<{ response: { url: string; expires_at: string } }>(
        `/api/v1/backups/${encodeURIComponent(backup.id)}/files/${kind}/url`,
        { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ expires_in: LINK_SECONDS }) },
      );
      await navigator.clipboard.writeText(response.url);
      setLinkMessage(`Copied a link to ${FILE_LABELS[kind]}; it works without signing in until ${new Date(response.expires_at).toLocaleTimeString()}.`);
    } catch (error) {
      setLinkMessage(error instanceof Error ? `The link could not be copied: ${error.message}` : "The link could not be copied.");
    }
  }

  function togglePin() {
    const pinned = !backup.pinned;
    pinMutation.mutate(
      { backupId: backup.id, pinned },
      {
        onSuccess: () => setAnnouncement(pinned ? `Pinned ${backup.id}: no retention rule deletes it.` : `Unpinned ${backup.id}.`),
        onError: (error) => setAnnouncement(`${backup.id} could not be ${pinned ? "pinned" : "unpinned"}: ${error.message}`),
      },
    );
  }

  async function copyId() {
    try {
      await navigator.clipboard.writeText(backup.id);
      setAnnouncement(`Copied ${backup.id}`);
    } catch {
      setAnnouncement("Copying is not allowed by this browser; select the ID in the table instead.");
    }
  }

  return (
    <>
      <DropdownMenu>
        <DropdownMenuTrigger
          ref={triggerRef}
          aria-label={`Actions for ${backup.id}`}
          className="rounded-md px-2 py-1 text-lg leading-none text-slate-600 hover:bg-slate-100 data-[state=open]:bg-slate-100"
        >
          <span aria-hidden="true">⋮</span>
        </DropdownMenuTrigger>
        <DropdownMenuContent
          onCloseAutoFocus={(event) => {
            if (!openingDialog.current) return;
            event.preventDefault();
            setOpenDialog(openingDialog.current);
            openingDialog.current = null;
          }}
        >
          {downloadable && (
            <DropdownMenuItem
              onSelect={() => {
                openingDialog.current = "download";
              }}
            >
              Download
            </DropdownMenuItem>
          )}
          {restorable && (
            <DropdownMenuItem
              onSelect={() => {
                openingDialog.current = "restore";
              }}
            >
              Restore…
            </DropdownMenuItem>
          )}
          <DropdownMenuItem onSelect={() => void copyId()}>Copy ID</DropdownMenuItem>
          {canDelete && (backup.pinned || backup.status === "completed") && (
            <DropdownMenuItem onSelect={togglePin}>{backup.pinned ? "Unpin" : "Pin"}</DropdownMenuItem>
          )}
          {canDelete && (
            <DropdownMenuItem
              onSelect={() => {
                openingDialog.current = "delete";
              }}
            >
              Delete…
            </DropdownMenuItem>
          )}
        </DropdownMenuContent>
      </DropdownMenu>

      {downloadable && (
        <Dialog
          open={openDialog === "download"}
          onOpenChange={(open) => {
            setOpenDialog(open ? "download" : null);
            setLinkMessage("");
          }}
        >
          <DialogContent
            title="Download backup"
            description={<span className="font-mono">{backup.id}</span>}
            onCloseAutoFocus={returnFocus}
            onOpenAutoFocus={(event) => {
              // The first file, not "Copy link" (Radix would pick the first button).
              event.preventDefault();
              firstFileRef.current?.focus();
            }}
          >
            <p className="text-sm text-slate-600">Together, these two files are the environment backup.</p>
            <p role="status" className="mt-2 text-sm text-slate-700">
              {linkMessage}
            </p>
            <ul className="mt-4 space-y-3" aria-label="Files">
              {backup.files.map((file, index) => (
                <li key={file.kind} className="rounded-md border border-slate-200 p-3">
                  <div className="flex items-center justify-between gap-4">
                    <a ref={index === 0 ? firstFileRef : undefined} href={file.download_url} download className={buttonClasses("primary")}>
                      {FILE_LABELS[file.kind]}
                    </a>
                    <span className="text-sm text-slate-600">{formatBytes(file.size)}</span>
                  </div>
                  <Button variant="ghost" className="mt-2 px-2 py-1 text-xs" onClick={() => void copyLink(file.kind)}>
                    Copy link (1 hour)<span className="sr-only"> to {FILE_LABELS[file.kind]}</span>
                  </Button>
                  <p className="mt-2 break-all font-mono text-xs text-slate-500">
                    <span className="sr-only">SHA-256 of {FILE_LABELS[file.kind]}: </span>
                    sha256 {file.sha256}
                  </p>
                </li>
              ))}
            </ul>
          </DialogContent>
        </Dialog>
      )}
      {restorable && (
        <Dialog open={openDialog === "restore"} onOpenChange={(open) => setOpenDialog(open ? "restore" : null)}>
          {openDialog === "restore" && (
            <RestoreDialogContent backup={backup} projectId={projectId} targets={restoreTargets} defaultTarget={environment} onCloseAutoFocus={returnFocus} />
          )}
        </Dialog>
      )}
      {canDelete && (
        <Dialog open={openDialog === "delete"} onOpenChange={(open) => setOpenDialog(open ? "delete" : null)}>
          {openDialog === "delete" && (
            <DeleteDialogContent
              backup={backup}
              projectId={projectId}
              environment={environment}
              onDeleted={(backupId) => {
                setOpenDialog(null);
                onDeleted(backupId);
              }}
              onCloseAutoFocus={(event) => event.preventDefault()}
            />
          )}
        </Dialog>
      )}
      <span role="status" aria-live="polite" className="sr-only">
        {announcement}
      </span>
    </>
  );
}
