export { latestSlot, runScheduledBackups, SCHEDULE_GRACE_MS, SCHEDULER_ACTOR, SCHEDULER_INTERVAL_MS, startBackupScheduler } from "./scheduler";
export type { ScheduleOutcome } from "./scheduler";
