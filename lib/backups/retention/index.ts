export { applyRetention, expiredBackups, RETENTION_ACTOR, RETENTION_INTERVAL_MS, startRetention } from "./retention";
export type { RetentionCandidate, RetentionPolicy, RetentionRule, RetentionSummary } from "./retention";
