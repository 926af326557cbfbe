import { randomInt } from "node:crypto";

/**
 * A backup ID is three strings joined by dashes, as the Liferay documents
 * describe: the project, a random run of lower-case letters, and the UTC time
 * `YYYYMMDDHHmm` — e.g. `acme-lqgqnewltbexuewymq-201910031723`.
 */
export const BACKUP_ID_PATTERN = /^([a-z][a-z0-9]{1,29})-([a-z]{10,40})-(\d{12})$/;

const RANDOM_LENGTH = 18;

export function formatBackupTimestamp(date: Date): string {
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  return pad(date.getUTCFullYear(), 4) + pad(date.getUTCMonth() + 1) + pad(date.getUTCDate()) + pad(date.getUTCHours()) + pad(date.getUTCMinutes());
}

export function generateBackupId(projectId: string, at: Date = new Date()): string {
  let letters = "";
  for (let i = 0; i < RANDOM_LENGTH; i++) letters += String.fromCharCode(97 + randomInt(26));
  const id = `${projectId}-${letters}-${formatBackupTimestamp(at)}`;
  if (!BACKUP_ID_PATTERN.test(id)) throw new Error(`"${projectId}" cannot start a backup ID`);
  return id;
}

export interface ParsedBackupId {
  projectId: string;
  random: string;
  /** The minute the backup was started, UTC. */
  createdAt: Date;
}

export function parseBackupId(id: string): ParsedBackupId | null {
  const match = BACKUP_ID_PATTERN.exec(id);
  if (!match) return null;
  const [, projectId, random, stamp] = match as unknown as [string, string, string, string];
  const createdAt = new Date(Date.UTC(+stamp.slice(0, 4), +stamp.slice(4, 6) - 1, +stamp.slice(6, 8), +stamp.slice(8, 10), +stamp.slice(10, 12)));
  if (Number.isNaN(createdAt.getTime()) || formatBackupTimestamp(createdAt) !== stamp) return null;
  return { projectId, random, createdAt };
}
