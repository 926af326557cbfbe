/**
 * A file failed verification for a reason the person who made it can fix.
 * The message is written for them and names the file: it is shown as is.
 */
export class VerificationError extends Error {
  override readonly name = "VerificationError";

  constructor(
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isVerificationError(error: unknown): error is VerificationError {
  return error instanceof VerificationError;
}
