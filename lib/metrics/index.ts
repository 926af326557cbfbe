export { JOB_QUEUES, refreshDatabaseGauges } from "./collect";
export { isMetricsToken, scrapeMetrics, serveMetrics, startMetricsServer } from "./http";
export { countBackupFailure, countDownloadedBytes, countRestoreFailure, countRetentionDeleted, countUploadedBytes, getInstruments } from "./registry";
