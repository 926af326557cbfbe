export { applyChangedRetention, applyRetention, RETENTION_ACTOR, RETENTION_INTERVAL_MS, retentionCandidates, startRetention } from "./retention";
export type { RetentionSummary } from "./retention";
export { expiredBackups, GFS_TIERS, hasRetentionRule, judgeBackups, periodOf, policyOf } from "./policy";
export type { GfsTier, KeepReason, KeepRule, RetentionCandidate, RetentionPolicy, RetentionRule, RetentionVerdict } from "./policy";
export { previewRetention, retentionOfPage, RETENTION_SETTINGS, toRetentionJson } from "./explain";
export type { BackupRetentionJson, RetentionPreview, RetentionSettings } from "./explain";
