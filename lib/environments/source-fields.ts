import ipaddr from "ipaddr.js";
import { z } from "zod";

/*
 * What an environment's database source may hold. These values end up as
 * arguments of pg_dump, psql, mysqldump and mysql, run with the server's
 * privileges, so they are data of a known shape, never free text: a database
 * name that starts with "-" would be an option, one with "=" a libpq
 * connection string (pg_dump "host=elsewhere dbname=x"), a host starting
 * with "/" a socket folder. The same rules are checked again right before a
 * tool runs (checkDatabaseSource), for rows saved before they existed.
 */

/** PostgreSQL and MySQL identifiers as people name databases and users: no quoting needed, never an option. */
const IDENTIFIER = /^[A-Za-z0-9_][A-Za-z0-9_$-]{0,62}$/;
/** Users may also carry "." and "@" (Azure's user@server, e-mail-like service accounts). */
const USER = /^[A-Za-z0-9_][A-Za-z0-9_$.@-]{0,127}$/;
/** RFC 1123 host names: labels of letters, digits and inner hyphens. */
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** MySQL/MariaDB's "every database on the server" (see lib/backups/engine/dump.ts). */
const EVERY_DATABASE = "*";

export function isDatabaseHost(value: string): boolean {
  return HOSTNAME.test(value) || ipaddr.isValid(value);
}

export function isDatabaseName(value: string): boolean {
  return IDENTIFIER.test(value) || value === EVERY_DATABASE;
}

export function isDatabaseUser(value: string): boolean {
  return USER.test(value);
}

/** Table names for excluded tables (`schema.table` or `Table`) and databases to ignore: never an option either. */
export const TABLE_OR_DATABASE_NAME = /^[A-Za-z0-9_$][A-Za-z0-9_$.-]{0,127}$/;

export const databaseHostSchema = z
  .string()
  .trim()
  .max(253)
  .refine(isDatabaseHost, "must be a host name (letters, digits, dots and inner hyphens) or an IP address, such as db.internal or 10.0.0.5");
export const databaseNameSchema = z
  .string()
  .trim()
  .refine(isDatabaseName, "must be a database name of letters, digits, _ $ and - (not first), up to 63 characters, or * (MySQL: every database)");
export const databaseUserSchema = z
  .string()
  .trim()
  .refine(isDatabaseUser, "must be a user name of letters, digits, _ $ . @ and - (not first), up to 128 characters");

/**
 * The first field of a source that breaks the rules above, said so a person
 * can fix it in Settings; null when every field is fine. Run before any tool
 * is started with these values.
 */
export function checkDatabaseSource(source: { host: string; database: string; user: string; port: number | null }): string | null {
  if (!isDatabaseHost(source.host)) return `the database host "${source.host.slice(0, 100)}" is not a host name or an IP address`;
  if (!isDatabaseName(source.database)) return `the database name "${source.database.slice(0, 100)}" is not a plain database name`;
  if (!isDatabaseUser(source.user)) return `the database user "${source.user.slice(0, 100)}" is not a plain user name`;
  if (source.port !== null && !(Number.isInteger(source.port) && source.port >= 1 && source.port <= 65535))
    return `the database port ${source.port} is not a port`;
  return null;
}
