export { claimJob, enqueueJob, getJob, jobLockHolder, releaseJobLocks, retryDelayMs } from "./queue";
export type { BackoffOptions, JobPayload } from "./queue";
export { DeferJobError, PermanentJobError, startJobSweeper, startJobWorker, sweepExpiredJobs } from "./worker";
export type { JobContext, JobHandler, JobHandlers, JobWorkerOptions } from "./worker";
