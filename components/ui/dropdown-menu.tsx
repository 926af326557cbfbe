"use client";

import * as DropdownMenuPrimitive from "@radix-ui/react-dropdown-menu";
import type { ComponentPropsWithoutRef } from "react";

// Radix gives the menu semantics, focus management and keyboard handling
// (arrows, Home/End, typeahead, Escape); these wrappers only add our styles.

export const DropdownMenu = DropdownMenuPrimitive.Root;
export const DropdownMenuTrigger = DropdownMenuPrimitive.Trigger;

const CONTENT = "z-50 min-w-48 rounded-md border border-slate-200 bg-white p-1 text-sm shadow-lg";
const ITEM =
  "flex cursor-default select-none items-center justify-between gap-4 rounded px-2 py-1.5 outline-none data-[highlighted]:bg-slate-100 data-[disabled]:text-slate-400";

export function DropdownMenuContent({ className = "", ...props }: ComponentPropsWithoutRef<typeof DropdownMenuPrimitive.Content>) {
  return (
    <DropdownMenuPrimitive.Portal>
      <DropdownMenuPrimitive.Content sideOffset={4} align="end" className={`${CONTENT} ${className}`} {...props} />
    </DropdownMenuPrimitive.Portal>
  );
}

export function DropdownMenuItem({ className = "", ...props }: ComponentPropsWithoutRef<typeof DropdownMenuPrimitive.Item>) {
  return <DropdownMenuPrimitive.Item className={`${ITEM} ${className}`} {...props} />;
}
