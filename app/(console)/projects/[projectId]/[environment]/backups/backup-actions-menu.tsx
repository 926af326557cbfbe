"use client";

import { useState } from "react";

import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuSub,
  DropdownMenuSubContent,
  DropdownMenuSubTrigger,
  DropdownMenuTrigger,
} from "@/components/ui/dropdown-menu";
import type { BackupJson } from "@/lib/backups/serialize";
import { FILE_LABELS } from "@/lib/backups/serialize";
import { formatBytes } from "@/lib/format";

/** The ⋮ menu of one backup: Download → Database / Liferay, and Copy ID. */
export function BackupActionsMenu({ backup, canDownload }: { backup: BackupJson; canDownload: boolean }) {
  const [announcement, setAnnouncement] = useState("");
  const downloadable = canDownload && backup.status === "completed" && backup.files.length > 0;

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
          aria-label={`Actions for ${backup.id}`}
          className="rounded-md px-2 py-1 text-lg leading-none text-slate-600 hover:bg-slate-100 data-[state=open]:bg-slate-100"
        >
          <span aria-hidden="true">⋮</span>
        </DropdownMenuTrigger>
        <DropdownMenuContent>
          {downloadable && (
            <DropdownMenuSub>
              <DropdownMenuSubTrigger>Download</DropdownMenuSubTrigger>
              <DropdownMenuSubContent>
                {backup.files.map((file) => (
                  <DropdownMenuItem key={file.kind} asChild>
                    <a href={file.download_url} download>
                      <span>{FILE_LABELS[file.kind]}</span>
                      <span className="text-xs text-slate-500">{formatBytes(file.size)}</span>
                    </a>
                  </DropdownMenuItem>
                ))}
              </DropdownMenuSubContent>
            </DropdownMenuSub>
          )}
          <DropdownMenuItem onSelect={() => void copyId()}>Copy ID</DropdownMenuItem>
        </DropdownMenuContent>
      </DropdownMenu>
      <span role="status" aria-live="polite" className="sr-only">
        {announcement}
      </span>
    </>
  );
}
