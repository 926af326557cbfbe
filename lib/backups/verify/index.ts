export { verifyDatabaseDump, SNIFF_BYTES } from "./database";
export type { DatabaseDumpReport, VerifyDatabaseOptions } from "./database";
export { VerificationError, isVerificationError } from "./errors";
export { checkTableNameCase, detectDumpDialect, ENGINE_LABEL, parseCreateTable } from "./sql";
export type { DatabaseEngine, DumpDialect, TableName } from "./sql";
export { verifyVolumeArchive, VOLUME_ROOT } from "./volume";
export type { VerifyVolumeOptions, VolumeArchiveReport } from "./volume";
export { expansionGuard, ExpansionLimitError, isExpansionLimitError, RATIO_GRACE_BYTES } from "./gzip";
export type { ExpansionCheck, ExpansionLimits } from "./gzip";
