export {
  ABANDONED_RESTORE_REASON,
  createRestoreJobHandler,
  RESTORE_LOCK_TTL_MS,
  RESTORE_QUEUE,
  restoreShortId,
  runRestore,
  STAGES as RESTORE_STAGES,
} from "./restore-job";
export type { RestoreEngineDeps, RestorePayload } from "./restore-job";
export { requestRestore } from "./request";
export type { RequestRestoreInput } from "./request";
export { toRestoreJson } from "./serialize";
export type { RestoreJson } from "./serialize";
export { checkServerVersions, parseServerVersion } from "./version";
