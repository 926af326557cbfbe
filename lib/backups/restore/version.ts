import type { DumpEngine } from "@/lib/backups/engine/dump";

/*
 * Whether a dump may be loaded into a server: a dump taken from a newer
 * server can use syntax, types and catalog options an older one rejects —
 * often only deep into the load. PostgreSQL breaks compatibility between
 * major versions (15, 16; before 10: 9.6); MySQL and MariaDB between
 * major.minor releases (8.0 → 8.4, 10.6 → 10.11).
 */

export interface ParsedServerVersion {
  flavor: "postgresql" | "mysql" | "mariadb";
  /** The part that decides compatibility, as numbers: [15] or [9, 6]; [10, 11]. */
  release: number[];
  /** As shown to people: "15", "9.6", "10.11". */
  label: string;
}

/** `15.4`, `15.20 (Debian 15.20-0+deb12u1)`, `10.11.6-MariaDB-1:10.11.6+maria~ubu2204`, `8.0.36`. */
export function parseServerVersion(engine: DumpEngine, version: string | null | undefined): ParsedServerVersion | null {
  if (!version) return null;
  const match = /^\s*(?:5\.5\.5-)?(\d+)(?:\.(\d+))?/.exec(version);
  if (!match) return null;
  const major = Number(match[1]);
  const minor = match[2] === undefined ? null : Number(match[2]);
  if (engine === "postgresql") {
    const release = major < 10 && minor !== null ? [major, minor] : [major];
    return { flavor: "postgresql", release, label: release.join(".") };
  }
  if (minor === null) return null;
  return { flavor: /mariadb/i.test(version) ? "mariadb" : "mysql", release: [major, minor], label: `${major}.${minor}` };
}

function compareReleases(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const diff = (a[i] ?? 0) - (b[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

const NAMES = { postgresql: "PostgreSQL", mysql: "MySQL", mariadb: "MariaDB" } as const;

export type VersionVerdict = { allowed: true; note: string | null } | { allowed: false; reason: string };

/**
 * A dump from a newer release into an older server is refused; the same or
 * an older release is fine. When either version is unknown, or the products
 * differ (MySQL and MariaDB number their releases independently), the
 * restore goes ahead and the note says it was not checked.
 */
export function checkServerVersions(engine: DumpEngine, input: { backup: string | null | undefined; target: string | null | undefined }): VersionVerdict {
  const backup = parseServerVersion(engine, input.backup);
  const target = parseServerVersion(engine, input.target);
  if (!backup || !target) {
    const unknown = !backup
      ? `the backup's server version${input.backup ? ` ("${input.backup}")` : ""}`
      : `the target server's version${input.target ? ` ("${input.target}")` : ""}`;
    return { allowed: true, note: `Server versions were not compared: ${unknown} is not known.` };
  }
  if (backup.flavor !== target.flavor) {
    return {
      allowed: true,
      note: `Server versions were not compared: the backup comes from ${NAMES[backup.flavor]} ${backup.label}, the target runs ${NAMES[target.flavor]} ${target.label}.`,
    };
  }
  if (compareReleases(backup.release, target.release) > 0) {
    return {
      allowed: false,
      reason:
        `This backup comes from ${NAMES[backup.flavor]} ${backup.label} (${input.backup}), but the target server runs ${NAMES[target.flavor]} ${target.label} (${input.target}). ` +
        `A dump from a newer ${NAMES[backup.flavor]} release cannot be loaded safely into an older one; upgrade the target server first.`,
    };
  }
  return { allowed: true, note: null };
}
