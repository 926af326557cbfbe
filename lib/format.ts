const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"] as const;

/** Binary units, as `ls -lh` and the storage consoles people compare with show them. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return "—";
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

/** A moment with its time zone, so "03:00" is never ambiguous between people in different places. */
export function formatDateTime(iso: string, timeZone?: string): string {
  // dateStyle/timeStyle cannot be combined with timeZoneName, hence the long form.
  return new Intl.DateTimeFormat("en-GB", {
    day: "numeric",
    month: "short",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
    timeZone,
    timeZoneName: "short",
  }).format(new Date(iso));
}
