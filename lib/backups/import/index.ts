export { ABANDONED_IMPORT_REASON, createImportJobHandler, DEFAULT_IMPORT_LIMITS, failImport, IMPORT_QUEUE, requestImport, runImport } from "./import-backup";
export type { ImportBackupInput, ImportDeps, ImportPayload } from "./import-backup";
export { fetchToStorage, ImportError, isImportError } from "./fetch-to-storage";
export type { FetchLimits } from "./fetch-to-storage";
export { isFetchableUrl, redactUrl, urlFileName } from "./remote-url";
export { isInternalAddress, obviouslyInternalHost } from "./address-guard";
export type { DestinationPolicy } from "./address-guard";
