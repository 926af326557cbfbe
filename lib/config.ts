import fs from "node:fs";
import path from "node:path";

import proxyaddr from "proxy-addr";
import { z } from "zod";

import { parseSize } from "@/lib/format";

import type { StorageConfig } from "@/lib/storage/types";

/**
 * Every setting Lifeboat reads from the environment, validated once.
 * The README's configuration table is written from this schema: keep them in step.
 */
const booleanFlag = z
  .enum(["true", "false", "1", "0", "yes", "no", ""])
  .optional()
  .transform((value) => value === "true" || value === "1" || value === "yes");

const optionalString = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === "" ? undefined : value.trim()));

const envSchema = z.object({
  LIFEBOAT_URL: z.url().default("http://localhost:3000"),
  HOST: z.string().min(1).default("127.0.0.1"),
  PORT: z.coerce.number().int().min(1).max(65535).default(3000),
  DATA_DIR: z.string().min(1).default("./data"),
  DATABASE_URL: optionalString.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL")
      .optional(),
  ),
  STORAGE_DRIVER: z.enum(["local", "s3"]).default("local"),
  STORAGE_LOCAL_ROOT: optionalString,
  S3_BUCKET: optionalString,
  S3_REGION: z.string().default("us-east-1"),
  S3_ENDPOINT: optionalString.pipe(z.url().optional()),
  S3_ACCESS_KEY_ID: optionalString,
  S3_SECRET_ACCESS_KEY: optionalString,
  S3_FORCE_PATH_STYLE: z
    .enum(["true", "false"])
    .default("true")
    .transform((v) => v === "true"),
  S3_PREFIX: optionalString,
  OIDC_ISSUER: optionalString.pipe(z.url().optional()),
  OIDC_CLIENT_ID: optionalString,
  OIDC_CLIENT_SECRET: optionalString,
  OIDC_SCOPES: z.string().default("openid email profile groups"),
  OIDC_GROUPS_CLAIM: z.string().min(1).default("groups"),
  OIDC_PROVIDER_NAME: z.string().min(1).default("SSO"),
  AUTH_SECRET: optionalString.pipe(z.string().min(32, "must be at least 32 characters").optional()),
  DEV_OIDC_PORT: z.coerce.number().int().min(0).max(65535).default(3001),
  LIFEBOAT_ALLOW_DEV_SSO: booleanFlag,
  LIFEBOAT_PRODUCTION_ONLY: booleanFlag,
  LIFEBOAT_SEED_DEMO: z.enum(["true", "false", "auto"]).default("auto"),
  UPLOAD_PARALLEL_PARTS: z.coerce.number().int().min(1).max(64).default(4),
  UPLOAD_SESSION_TTL_HOURS: z.coerce
    .number()
    .min(1)
    .max(24 * 30)
    .default(24),
  IMPORT_ALLOW_PRIVATE_NETWORKS: booleanFlag,
  API_RATE_LIMIT: z.coerce.number().int().min(1).max(1_000_000).default(600),
  // The SysReptor seed's rule: no key, no backup-key endpoint; a key shorter than 20 characters is refused outright.
  BACKUP_KEY: optionalString.pipe(z.string().min(20, "must be at least 20 characters (or unset, which disables the backup-key endpoint)").optional()),
  // Comma-separated identity-provider groups whose members are installation operators (docs/security.md).
  LIFEBOAT_OPERATOR_GROUPS: optionalString,
  // Comma-separated absolute folders inside which every environment's volume folder must lie (docs/security.md).
  VOLUME_ROOTS: optionalString,
  // Who may set X-Forwarded-For: unset/false (nobody: the socket is the client), a hop count, or addresses/CIDRs.
  TRUST_PROXY: optionalString,
  // The most a gzip'd file may expand to when it is verified or restored, and its largest expansion ratio ("0" turns a limit off).
  MAX_EXPANDED_SIZE: z.string().default("4TiB"),
  MAX_EXPANSION_RATIO: z.coerce.number().min(0).max(1_000_000).default(200),
  // The PostgreSQL server the embedded default's demo databases live on (lib/backups/demo).
  DEMO_DATABASE_URL: optionalString.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL")
      .optional(),
  ),
  // The demo databases are <prefix>_prd, <prefix>_uat and <prefix>_dev: tests and a second demo on one server use their own.
  DEMO_DATABASE_PREFIX: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,39}$/, "must be lower-case letters, digits and _, starting with a letter (at most 40)")
    .default("acme"),
  // The Prometheus endpoint (lib/metrics): a Bearer token for GET /metrics on the console's port, and/or an address of its own.
  METRICS_TOKEN: optionalString.pipe(z.string().min(20, "must be at least 20 characters (or unset: no /metrics on the console's port)").optional()),
  METRICS_LISTEN: optionalString,
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export type RawEnv = z.input<typeof envSchema>;

export interface AppConfig {
  /** "embedded": PGlite + local disk + dev SSO by default; "server": a real PostgreSQL. */
  mode: "embedded" | "server";
  url: string;
  host: string;
  port: number;
  dataDir: string;
  database: { kind: "pglite"; dataDir: string } | { kind: "postgres"; url: string };
  storage: StorageConfig;
  oidc:
    | { kind: "external"; issuer: string; clientId: string; clientSecret: string; scopes: string; groupsClaim: string; name: string }
    | { kind: "development"; port: number; scopes: string; groupsClaim: string; name: string };
  authSecret: string | undefined;
  productionOnly: boolean;
  seedDemo: boolean;
  uploads: { parallelParts: number; sessionTtlMs: number };
  /**
   * Lets "import from remote_url" fetch from loopback, link-local (cloud metadata),
   * private and other internal addresses. Off: an environment administrator is not
   * a server administrator, and must not reach what only the server can reach.
   */
  importAllowPrivateNetworks: boolean;
  /** Requests per minute each API caller (token, or signed-in person) may make to /api/v1; see lib/api/rate-limit.ts. */
  apiRateLimitPerMinute: number;
  /** Enables `POST /api/v1/utils/backup/` (docs/backup-key.md); undefined: that endpoint is disabled. */
  backupKey: string | undefined;
  /** Members of these groups are installation operators: they set environments' sources (docs/security.md). */
  operatorGroups: string[];
  /** Resolved (real) absolute folders; every volume folder must lie strictly inside one of them. Empty: no volume folder can be set. */
  volumeRoots: string[];
  /**
   * Which peers' X-Forwarded-For is believed: false (none; the socket address is the client's),
   * a hop count, or a list of addresses and CIDRs (proxy-addr's syntax, e.g. "loopback, 10.0.0.0/8").
   */
  trustProxy: false | number | string[];
  /** Limits on what a gzip'd file may expand to when verified or restored; null: no limit of that kind. */
  expansion: { maxBytes: number | null; maxRatio: number | null };
  /** Where the demo's databases are created (the embedded default only); undefined: the local server, if one answers. */
  demoDatabaseUrl: string | undefined;
  /** The demo databases' names start with this and `_`: `acme_prd`, `acme_uat`, `acme_dev` by default. */
  demoDatabasePrefix: string;
  /**
   * The Prometheus endpoint: `token` enables GET /metrics on the console's port for that Bearer token; `listen` serves it,
   * with no credentials, on an address of its own (a port only the monitoring network reaches). Neither: no metrics.
   */
  metrics: { token: string | undefined; listen: { host: string; port: number } | undefined };
  logLevel: z.infer<typeof envSchema>["LOG_LEVEL"];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Lifeboat's configuration is invalid:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

export function parseConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join(".") || "environment"}: ${issue.message}`));
  }
  const e = parsed.data;
  const problems: string[] = [];
  // The turbopackIgnore markers: these are run-time folders, not files to trace into the build.
  const dataDir = path.resolve(/*turbopackIgnore: true*/ e.DATA_DIR);
  const mode = e.DATABASE_URL ? "server" : "embedded";

  let storage: StorageConfig;
  if (e.STORAGE_DRIVER === "s3") {
    if (!e.S3_BUCKET) problems.push("S3_BUCKET: required when STORAGE_DRIVER=s3");
    storage = {
      driver: "s3",
      bucket: e.S3_BUCKET ?? "",
      region: e.S3_REGION,
      endpoint: e.S3_ENDPOINT,
      accessKeyId: e.S3_ACCESS_KEY_ID,
      secretAccessKey: e.S3_SECRET_ACCESS_KEY,
      forcePathStyle: e.S3_FORCE_PATH_STYLE,
      prefix: e.S3_PREFIX,
    };
  } else {
    storage = { driver: "local", root: path.resolve(/*turbopackIgnore: true*/ e.STORAGE_LOCAL_ROOT ?? path.join(dataDir, "storage")) };
  }

  let oidc: AppConfig["oidc"];
  const common = { scopes: e.OIDC_SCOPES, groupsClaim: e.OIDC_GROUPS_CLAIM, name: e.OIDC_PROVIDER_NAME };
  if (e.OIDC_ISSUER) {
    if (!e.OIDC_CLIENT_ID) problems.push("OIDC_CLIENT_ID: required when OIDC_ISSUER is set");
    if (!e.OIDC_CLIENT_SECRET) problems.push("OIDC_CLIENT_SECRET: required when OIDC_ISSUER is set");
    oidc = { kind: "external", issuer: e.OIDC_ISSUER, clientId: e.OIDC_CLIENT_ID ?? "", clientSecret: e.OIDC_CLIENT_SECRET ?? "", ...common };
  } else {
    // The development provider signs anyone in as an administrator: it is only
    // acceptable when nothing real is behind the console.
    const productionLike = mode === "server" || e.STORAGE_DRIVER === "s3";
    if (productionLike && !e.LIFEBOAT_ALLOW_DEV_SSO) {
      problems.push(
        "OIDC_ISSUER: required when DATABASE_URL or S3 storage is configured. The built-in development sign-in " +
          "lets anyone in as an administrator; set OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET for your identity " +
          "provider, or LIFEBOAT_ALLOW_DEV_SSO=true for a throwaway test installation.",
      );
    }
    oidc = { kind: "development", port: e.DEV_OIDC_PORT, ...common };
  }

  if (mode === "server" && !e.AUTH_SECRET) {
    problems.push("AUTH_SECRET: required with DATABASE_URL (at least 32 random characters, the same on every instance)");
  }

  const storageRoot = storage.driver === "local" ? storage.root : undefined;
  const volumeRoots = parseVolumeRoots(e.VOLUME_ROOTS, { mode, dataDir, storageRoot }, problems);
  const trustProxy = parseTrustProxy(e.TRUST_PROXY, problems);
  const expansion = parseExpansion(e.MAX_EXPANDED_SIZE, e.MAX_EXPANSION_RATIO, problems);
  const operatorGroups =
    e.LIFEBOAT_OPERATOR_GROUPS !== undefined
      ? splitList(e.LIFEBOAT_OPERATOR_GROUPS)
      : // The development sign-in's demo operator (lib/auth/dev-oidc/demo-users.ts); a real identity provider has none until configured.
        oidc.kind === "development"
        ? [DEMO_OPERATOR_GROUP]
        : [];

  const metricsListen = parseListenAddress(e.METRICS_LISTEN, { port: e.PORT, devOidcPort: e.DEV_OIDC_PORT }, problems);

  if (problems.length > 0) throw new ConfigError(problems);

  return {
    mode,
    url: e.LIFEBOAT_URL.replace(/\/$/, ""),
    host: e.HOST,
    port: e.PORT,
    dataDir,
    database: databaseLocation(e.DATABASE_URL, dataDir),
    storage,
    oidc,
    authSecret: e.AUTH_SECRET,
    productionOnly: e.LIFEBOAT_PRODUCTION_ONLY,
    seedDemo: e.LIFEBOAT_SEED_DEMO === "auto" ? mode === "embedded" : e.LIFEBOAT_SEED_DEMO === "true",
    uploads: { parallelParts: e.UPLOAD_PARALLEL_PARTS, sessionTtlMs: e.UPLOAD_SESSION_TTL_HOURS * 60 * 60 * 1000 },
    importAllowPrivateNetworks: e.IMPORT_ALLOW_PRIVATE_NETWORKS,
    apiRateLimitPerMinute: e.API_RATE_LIMIT,
    backupKey: e.BACKUP_KEY,
    operatorGroups,
    volumeRoots,
    trustProxy,
    expansion,
    demoDatabaseUrl: e.DEMO_DATABASE_URL,
    demoDatabasePrefix: e.DEMO_DATABASE_PREFIX,
    metrics: { token: e.METRICS_TOKEN, listen: metricsListen },
    logLevel: e.LOG_LEVEL,
  };
}

/** METRICS_LISTEN: `host:port`, `[v6]:port` or a bare port (on 127.0.0.1), never one of the console's own ports. */
function parseListenAddress(
  raw: string | undefined,
  { port, devOidcPort }: { port: number; devOidcPort: number },
  problems: string[],
): { host: string; port: number } | undefined {
  if (raw === undefined) return undefined;
  const match = /^(?:(\[[0-9a-fA-F:.]+\]|[^:[\]\s]+):)?(\d{1,5})$/.exec(raw);
  const listenPort = match ? Number(match[2]) : NaN;
  if (!match || !(listenPort >= 1 && listenPort <= 65535)) {
    problems.push(`METRICS_LISTEN: "${raw}" is not an address to listen on; write host:port (127.0.0.1:9464, [::1]:9464, 0.0.0.0:9464) or a port`);
    return undefined;
  }
  if (listenPort === port || listenPort === devOidcPort) {
    problems.push(`METRICS_LISTEN: port ${listenPort} is the console's own (PORT or DEV_OIDC_PORT); give the metrics a port of their own`);
    return undefined;
  }
  return { host: match[1]?.replace(/^\[|\]$/g, "") ?? "127.0.0.1", port: listenPort };
}

/** DATABASE_URL's PostgreSQL server, else the embedded PGlite folder under DATA_DIR. */
function databaseLocation(databaseUrl: string | undefined, dataDir: string): AppConfig["database"] {
  return databaseUrl ? { kind: "postgres", url: databaseUrl } : { kind: "pglite", dataDir: path.join(/*turbopackIgnore: true*/ dataDir, "pglite") };
}

/**
 * Only the database settings (DATABASE_URL, DATA_DIR), for `npm run db:migrate`: migrating needs no
 * sign-in or storage settings, so it must not refuse to run for want of them.
 */
export function parseDatabaseConfig(env: Record<string, string | undefined> = process.env): AppConfig["database"] {
  const parsed = envSchema.pick({ DATA_DIR: true, DATABASE_URL: true }).safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join(".") || "environment"}: ${issue.message}`));
  }
  return databaseLocation(parsed.data.DATABASE_URL, path.resolve(/*turbopackIgnore: true*/ parsed.data.DATA_DIR));
}

/** The group the development sign-in's demo operator carries; the default operator group of the embedded default. */
export const DEMO_OPERATOR_GROUP = "lifeboat-operators";

function splitList(value: string): string[] {
  return value
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
}

/** DATA_DIR's folder for document libraries: the embedded default's volume root, and the only part of DATA_DIR a root may be. */
export const VOLUMES_FOLDER = "volumes";

/** Whether `inner` is `outer` or lies inside it (both absolute and normalised). */
export function isPathWithin(inner: string, outer: string): boolean {
  const relative = path.relative(outer, inner);
  return relative === "" || (!relative.startsWith("..") && !path.isAbsolute(relative));
}

/** Follows symlinks as far as the path exists, so a root named through a link is compared by what it is. */
function realPathAsFarAsExists(target: string): string {
  let existing = target;
  const rest: string[] = [];
  for (;;) {
    try {
      return path.join(fs.realpathSync.native(existing), ...rest.reverse());
    } catch {
      const parent = path.dirname(existing);
      if (parent === existing) return target;
      rest.push(path.basename(existing));
      existing = parent;
    }
  }
}

/**
 * VOLUME_ROOTS: the folders operators allow volume folders in. The embedded
 * default has one under DATA_DIR for its demo volumes; a server install has
 * none until an operator names them. A root may not hold Lifeboat's own data
 * (DATA_DIR: the session secret, the embedded database) nor lie inside the
 * storage folder, or a backup could read, and a restore replace, them.
 */
function parseVolumeRoots(
  raw: string | undefined,
  { mode, dataDir, storageRoot }: { mode: AppConfig["mode"]; dataDir: string; storageRoot: string | undefined },
  problems: string[],
): string[] {
  const named = raw !== undefined ? splitList(raw) : mode === "embedded" ? [path.join(/*turbopackIgnore: true*/ dataDir, VOLUMES_FOLDER)] : [];
  const dataRoot = realPathAsFarAsExists(dataDir);
  const storageReal = storageRoot ? realPathAsFarAsExists(storageRoot) : undefined;
  const roots: string[] = [];
  for (const root of named) {
    if (!path.isAbsolute(root)) {
      problems.push(`VOLUME_ROOTS: ${root} is not an absolute path`);
      continue;
    }
    const real = realPathAsFarAsExists(path.resolve(/*turbopackIgnore: true*/ root));
    const clash =
      // The root would hold DATA_DIR (the session secret, the embedded database, local storage) …
      isPathWithin(dataRoot, real) ||
      // … or lie inside it anywhere but its volumes folder, or overlap the storage folder.
      (isPathWithin(real, dataRoot) && !isPathWithin(real, path.join(dataRoot, VOLUMES_FOLDER))) ||
      (storageReal !== undefined && (isPathWithin(real, storageReal) || isPathWithin(storageReal, real)));
    if (clash) {
      problems.push(`VOLUME_ROOTS: ${root} overlaps Lifeboat's own data (DATA_DIR or the storage folder); name a folder that holds only document libraries`);
      continue;
    }
    roots.push(real);
  }
  return roots;
}

function parseTrustProxy(raw: string | undefined, problems: string[]): AppConfig["trustProxy"] {
  if (raw === undefined || ["false", "0", "no", "none"].includes(raw.toLowerCase())) return false;
  if (/^\d+$/.test(raw)) return Number(raw);
  const list = splitList(raw);
  try {
    proxyaddr.compile(list);
  } catch (error) {
    problems.push(`TRUST_PROXY: ${(error as Error).message}; give a hop count, or addresses and CIDRs such as "loopback, 10.0.0.0/8"`);
  }
  return list;
}

function parseExpansion(size: string, ratio: number, problems: string[]): AppConfig["expansion"] {
  let maxBytes: number | null = null;
  if (size.trim() !== "0") {
    maxBytes = parseSize(size);
    if (maxBytes === null) problems.push(`MAX_EXPANDED_SIZE: "${size}" is not a size; write e.g. 4TiB, 500GiB or 0 for no limit`);
  }
  return { maxBytes, maxRatio: ratio === 0 ? null : ratio };
}

let cached: AppConfig | undefined;

/** The process-wide configuration; parsed on first use so a bad value fails loudly at start-up. */
export function getConfig(): AppConfig {
  cached ??= parseConfig();
  return cached;
}
