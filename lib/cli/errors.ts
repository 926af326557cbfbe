/**
 * Exit codes a script can rely on. They are part of the CLI's interface:
 * documented in `lifeboat --help` and docs/cli.md, and never renumbered.
 */
export const EXIT = {
  ok: 0,
  /** A bug or something nobody planned for; the message says what. */
  unexpected: 1,
  /** Bad flags or arguments, or the server refused the request as given (400, 413, 422). */
  usage: 2,
  /** No token, a bad or revoked token, or not allowed (401, 403). */
  auth: 3,
  /** No such backup, environment, upload or restore (404). */
  notFound: 4,
  /** The environment is busy or the thing is in the wrong state (409). */
  conflict: 5,
  /** A file's SHA-256 (or gzip check) does not match: the bytes cannot be trusted. */
  verification: 6,
  /** The backup or restore ran and ended `failed`. */
  remoteFailed: 7,
  /** The server could not be reached, or kept failing (5xx, 429) after retries. */
  network: 8,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODE_HELP = `Exit codes:
  0  success
  1  unexpected error
  2  usage error: bad flags, or the server refused the request (400, 413, 422)
  3  authentication or permission (401, 403): log in again or ask for a role
  4  not found (404): no such backup, environment, upload or restore
  5  conflict (409): the environment is busy, or the backup is not ready
  6  verification failed: a SHA-256 or gzip check did not match
  7  the backup or restore ran and failed
  8  network: the server was unreachable or kept failing after retries
130  interrupted (Ctrl-C): downloads and uploads keep their state; rerun to resume`;

/** A failure with the one line to print and the exit code to leave with. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    /** The HTTP status behind it, when the server answered. */
    readonly status?: number,
    /** The server's Retry-After, in ms, for a retry that should wait at least that long. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** How an HTTP error status maps onto an exit code. */
export function exitCodeForStatus(status: number): ExitCode {
  if (status === 401 || status === 403) return EXIT.auth;
  if (status === 404 || status === 410) return EXIT.notFound;
  if (status === 409) return EXIT.conflict;
  if (status === 400 || status === 405 || status === 413 || status === 416 || status === 422) return EXIT.usage;
  if (status === 408 || status === 429 || status >= 500) return EXIT.network;
  return EXIT.unexpected;
}

export function usageError(message: string): CliError {
  return new CliError(message, EXIT.usage);
}
