export type StorageErrorCode = "not_found" | "invalid_range" | "upload_not_found" | "part_mismatch" | "size_mismatch" | "invalid_key" | "invalid_argument";

/**
 * Suggested HTTP status per code, so every route maps storage failures the
 * same way instead of each one guessing.
 */
export const STORAGE_ERROR_HTTP_STATUS: Readonly<Record<StorageErrorCode, number>> = {
  not_found: 404,
  invalid_range: 416,
  upload_not_found: 404,
  part_mismatch: 400,
  size_mismatch: 400,
  invalid_key: 400,
  invalid_argument: 400,
};

export class StorageError extends Error {
  override readonly name = "StorageError";
  readonly code: StorageErrorCode;

  constructor(code: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isStorageError(error: unknown, code?: StorageErrorCode): error is StorageError {
  return error instanceof StorageError && (code === undefined || error.code === code);
}
