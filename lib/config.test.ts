import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { ConfigError, parseConfig } from "./config";

const SECRET = "x".repeat(32);

function problemsOf(env: Record<string, string>): string[] {
  try {
    parseConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe("configuration", () => {
  it("runs the embedded default with nothing set", () => {
    const config = parseConfig({});
    expect(config.mode).toBe("embedded");
    expect(config.database).toEqual({ kind: "pglite", dataDir: path.resolve("data/pglite") });
    expect(config.storage).toEqual({ driver: "local", root: path.resolve("data/storage") });
    expect(config.oidc.kind).toBe("development");
    expect(config.url).toBe("http://localhost:3000");
    expect(config.port).toBe(3000);
    expect(config.seedDemo).toBe(true);
    expect(config.productionOnly).toBe(false);
    expect(config.uploads).toEqual({ parallelParts: 4, sessionTtlMs: 24 * 60 * 60 * 1000 });
  });

  it("has operators, volume roots and proxies only where configured", () => {
    const embedded = parseConfig({});
    expect(embedded.operatorGroups).toEqual(["lifeboat-operators"]);
    expect(embedded.volumeRoots).toEqual([path.join(fs.realpathSync("."), "data", "volumes")]);
    expect(embedded.trustProxy).toBe(false);
    const server = parseConfig({
      DATABASE_URL: "postgres://db/lifeboat",
      AUTH_SECRET: SECRET,
      OIDC_ISSUER: "https://idp.example",
      OIDC_CLIENT_ID: "c",
      OIDC_CLIENT_SECRET: "s",
    });
    expect(server.operatorGroups).toEqual([]);
    expect(server.volumeRoots).toEqual([]);
    expect(parseConfig({ LIFEBOAT_OPERATOR_GROUPS: "platform, sre ,," }).operatorGroups).toEqual(["platform", "sre"]);
    expect(parseConfig({ LIFEBOAT_OPERATOR_GROUPS: "" }).operatorGroups).toEqual(["lifeboat-operators"]);
  });

  it("refuses volume roots that would hold or sit inside Lifeboat's own data", () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lifeboat-config-"));
    try {
      const real = fs.realpathSync(dataDir);
      const base = { DATA_DIR: dataDir };
      expect(parseConfig({ ...base, VOLUME_ROOTS: `/srv/liferay, ${dataDir}/volumes/acme` }).volumeRoots).toEqual(["/srv/liferay", `${real}/volumes/acme`]);
      for (const root of ["/", dataDir, `${dataDir}/storage`, `${dataDir}/pglite`, `${dataDir}/storage/x`]) {
        expect(problemsOf({ ...base, VOLUME_ROOTS: root })[0]).toMatch(/^VOLUME_ROOTS: .* overlaps Lifeboat's own data/);
      }
      expect(problemsOf({ ...base, VOLUME_ROOTS: "/srv/docs", STORAGE_LOCAL_ROOT: "/srv/docs/storage" })[0]).toMatch(/overlaps/);
      expect(problemsOf({ ...base, VOLUME_ROOTS: "relative/docs" })).toEqual(["VOLUME_ROOTS: relative/docs is not an absolute path"]);
      // A root named through a symlink is judged by what it points at.
      fs.symlinkSync(path.join(dataDir, "storage"), path.join(dataDir, "volumes-link"));
      expect(problemsOf({ ...base, VOLUME_ROOTS: `${dataDir}/volumes-link` })[0]).toMatch(/overlaps/);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("believes X-Forwarded-For only from TRUST_PROXY", () => {
    expect(parseConfig({ TRUST_PROXY: "false" }).trustProxy).toBe(false);
    expect(parseConfig({ TRUST_PROXY: "2" }).trustProxy).toBe(2);
    expect(parseConfig({ TRUST_PROXY: "loopback, 10.0.0.0/8" }).trustProxy).toEqual(["loopback", "10.0.0.0/8"]);
    expect(problemsOf({ TRUST_PROXY: "10.0.0.0/99" })[0]).toMatch(/^TRUST_PROXY: /);
  });

  it("limits what a gzip'd file may expand to", () => {
    expect(parseConfig({}).expansion).toEqual({ maxBytes: 4 * 1024 ** 4, maxRatio: 200 });
    expect(parseConfig({ MAX_EXPANDED_SIZE: "0", MAX_EXPANSION_RATIO: "0" }).expansion).toEqual({ maxBytes: null, maxRatio: null });
    expect(parseConfig({ MAX_EXPANDED_SIZE: "500GiB" }).expansion.maxBytes).toBe(500 * 1024 ** 3);
    expect(problemsOf({ MAX_EXPANDED_SIZE: "lots" })[0]).toMatch(/^MAX_EXPANDED_SIZE: /);
  });

  it("names the demo databases after DEMO_DATABASE_PREFIX, acme by default", () => {
    expect(parseConfig({}).demoDatabasePrefix).toBe("acme");
    expect(parseConfig({ DEMO_DATABASE_PREFIX: "lb_e2e_3100" }).demoDatabasePrefix).toBe("lb_e2e_3100");
    expect(problemsOf({ DEMO_DATABASE_PREFIX: "Acme-Dev" })[0]).toMatch(/^DEMO_DATABASE_PREFIX: must be lower-case letters/);
  });

  it("tunes uploads", () => {
    expect(parseConfig({ UPLOAD_PARALLEL_PARTS: "8", UPLOAD_SESSION_TTL_HOURS: "2" }).uploads).toEqual({ parallelParts: 8, sessionTtlMs: 2 * 60 * 60 * 1000 });
    expect(problemsOf({ UPLOAD_PARALLEL_PARTS: "0" })[0]).toMatch(/^UPLOAD_PARALLEL_PARTS: /);
  });

  it("imports only from public addresses unless IMPORT_ALLOW_PRIVATE_NETWORKS says otherwise", () => {
    expect(parseConfig({}).importAllowPrivateNetworks).toBe(false);
    expect(parseConfig({ IMPORT_ALLOW_PRIVATE_NETWORKS: "" }).importAllowPrivateNetworks).toBe(false);
    expect(parseConfig({ IMPORT_ALLOW_PRIVATE_NETWORKS: "false" }).importAllowPrivateNetworks).toBe(false);
    expect(parseConfig({ IMPORT_ALLOW_PRIVATE_NETWORKS: "true" }).importAllowPrivateNetworks).toBe(true);
    expect(parseConfig({ IMPORT_ALLOW_PRIVATE_NETWORKS: "1" }).importAllowPrivateNetworks).toBe(true);
    expect(problemsOf({ IMPORT_ALLOW_PRIVATE_NETWORKS: "sometimes" })[0]).toMatch(/^IMPORT_ALLOW_PRIVATE_NETWORKS: /);
  });

  it("limits API callers to 600 requests a minute unless API_RATE_LIMIT says otherwise", () => {
    expect(parseConfig({}).apiRateLimitPerMinute).toBe(600);
    expect(parseConfig({ API_RATE_LIMIT: "3600" }).apiRateLimitPerMinute).toBe(3600);
    expect(problemsOf({ API_RATE_LIMIT: "0" })[0]).toMatch(/^API_RATE_LIMIT: /);
    expect(problemsOf({ API_RATE_LIMIT: "lots" })[0]).toMatch(/^API_RATE_LIMIT: /);
  });

  it("enables the backup-key endpoint only with a BACKUP_KEY of at least 20 characters", () => {
    expect(parseConfig({}).backupKey).toBeUndefined();
    expect(parseConfig({ BACKUP_KEY: "" }).backupKey).toBeUndefined();
    expect(parseConfig({ BACKUP_KEY: "k".repeat(20) }).backupKey).toBe("k".repeat(20));
    const problems = problemsOf({ BACKUP_KEY: "k".repeat(19) });
    expect(problems).toEqual(["BACKUP_KEY: must be at least 20 characters (or unset, which disables the backup-key endpoint)"]);
    expect(() => parseConfig({ BACKUP_KEY: "too-short" })).toThrow(/Lifeboat's configuration is invalid:\n {2}- BACKUP_KEY: must be at least 20 characters/);
  });

  it("serves metrics only when METRICS_TOKEN or METRICS_LISTEN says so", () => {
    expect(parseConfig({}).metrics).toEqual({ token: undefined, listen: undefined });
    expect(parseConfig({ METRICS_TOKEN: "t".repeat(20) }).metrics.token).toBe("t".repeat(20));
    expect(problemsOf({ METRICS_TOKEN: "short" })).toEqual([expect.stringMatching(/^METRICS_TOKEN: must be at least 20 characters/)]);
    expect(parseConfig({ METRICS_LISTEN: "9464" }).metrics.listen).toEqual({ host: "127.0.0.1", port: 9464 });
    expect(parseConfig({ METRICS_LISTEN: "0.0.0.0:9464" }).metrics.listen).toEqual({ host: "0.0.0.0", port: 9464 });
    expect(parseConfig({ METRICS_LISTEN: "[::1]:9464" }).metrics.listen).toEqual({ host: "::1", port: 9464 });
    expect(parseConfig({ METRICS_LISTEN: "metrics.internal:9100" }).metrics.listen).toEqual({ host: "metrics.internal", port: 9100 });
    expect(problemsOf({ METRICS_LISTEN: "127.0.0.1:99999" })).toEqual([expect.stringMatching(/^METRICS_LISTEN: "127.0.0.1:99999" is not an address/)]);
    expect(problemsOf({ METRICS_LISTEN: "http://127.0.0.1:9464" })).toEqual([expect.stringMatching(/^METRICS_LISTEN: .* is not an address/)]);
    expect(problemsOf({ PORT: "8080", METRICS_LISTEN: "127.0.0.1:8080" })).toEqual([expect.stringMatching(/^METRICS_LISTEN: port 8080 is the console's own/)]);
  });

  it("refuses the development sign-in in front of a real database", () => {
    const problems = problemsOf({ DATABASE_URL: "postgres://db/lifeboat", AUTH_SECRET: SECRET });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^OIDC_ISSUER: required when DATABASE_URL/);
    expect(parseConfig({ DATABASE_URL: "postgres://db/lifeboat", AUTH_SECRET: SECRET, LIFEBOAT_ALLOW_DEV_SSO: "true" }).oidc.kind).toBe("development");
  });

  it("configures production: PostgreSQL, S3, an external issuer", () => {
    const config = parseConfig({
      DATABASE_URL: "postgres://db/lifeboat",
      AUTH_SECRET: SECRET,
      STORAGE_DRIVER: "s3",
      S3_BUCKET: "backups",
      S3_ENDPOINT: "http://127.0.0.1:9000",
      OIDC_ISSUER: "https://login.example.com/realms/acme",
      OIDC_CLIENT_ID: "lifeboat",
      OIDC_CLIENT_SECRET: "s3cret",
      OIDC_GROUPS_CLAIM: "roles",
      LIFEBOAT_PRODUCTION_ONLY: "true",
    });
    expect(config.mode).toBe("server");
    expect(config.storage).toMatchObject({ driver: "s3", bucket: "backups", forcePathStyle: true, region: "us-east-1" });
    expect(config.oidc).toMatchObject({ kind: "external", clientId: "lifeboat", groupsClaim: "roles" });
    expect(config.productionOnly).toBe(true);
    expect(config.seedDemo).toBe(false);
  });

  it("names every problem at once, in words", () => {
    const problems = problemsOf({ DATABASE_URL: "postgres://db/x", STORAGE_DRIVER: "s3", OIDC_ISSUER: "https://idp.example.com" });
    expect(problems).toEqual([
      "S3_BUCKET: required when STORAGE_DRIVER=s3",
      "OIDC_CLIENT_ID: required when OIDC_ISSUER is set",
      "OIDC_CLIENT_SECRET: required when OIDC_ISSUER is set",
      "AUTH_SECRET: required with DATABASE_URL (at least 32 random characters, the same on every instance)",
    ]);
    expect(problemsOf({ PORT: "eighty" })[0]).toMatch(/^PORT: /);
    expect(problemsOf({ DATABASE_URL: "mysql://db/x" })[0]).toMatch(/^DATABASE_URL: must be a postgres:\/\/ URL/);
    expect(problemsOf({ AUTH_SECRET: "short" })[0]).toMatch(/^AUTH_SECRET: must be at least 32 characters/);
  });
});
