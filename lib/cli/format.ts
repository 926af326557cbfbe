/** Sizes for people, the same way the console shows them. */
export { formatBytes } from "@/lib/format";

/** "8MiB", "512k", "1048576" → bytes; null when it is not a size. */
export function parseSize(text: string): number | null {
  const match = /^(\d+)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?$/i.exec(text.trim());
  if (!match) return null;
  const factor = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(match[2]?.[0] ?? "b").toLowerCase() as "b" | "k" | "m" | "g"];
  const value = Number(match[1]) * factor;
  return Number.isSafeInteger(value) && value > 0 ? value : null;
}

/** A table with padded columns, for `backup list`. */
export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}
