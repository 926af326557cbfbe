/**
 * Download benchmark: one large backup file through the real console
 * (server.ts, production build) next to a plain Node HTTP server streaming the
 * same file with 1 MiB reads, in the same run. Reports MiB/s, server CPU
 * seconds per GiB and server memory (RSS before, peak during), and the ratios.
 *
 *   npx next build            # once; the console serves the production build
 *   npx tsx bench/download.ts
 *
 * BENCH_SIZE_MIB (default 2048) sets the file size, BENCH_RUNS (default 3)
 * the timed downloads per server, BENCH_IDLE_SECONDS (default 20) how long
 * both servers sit idle before the timed runs. Figures go to
 * bench/results/download.json.
 * Everything listens on 127.0.0.1 and lives in one temp folder, removed at the end.
 */
import { createHash, randomBytes } from "node:crypto";
import { statSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";

import { and, eq } from "drizzle-orm";

import { generateBackupId } from "@/lib/backups/backup-id";
import { openDatabase } from "@/lib/db/client";
import { migrateDatabase } from "@/lib/db/migrate";
import { environments } from "@/lib/db/schema";
import { seedDemoProject } from "@/lib/db/seed";
import { DEMO_PEOPLE, insertBackupRows, sessionCookie, storageKeyFor } from "@/lib/downloads/testing/seed";
import { createStorage } from "@/lib/storage";

import { openBenchWorkspace, REPO_ROOT } from "./lib/workspace";
import { startChild } from "./lib/children";
import type { Child } from "./lib/children";
import { download, waitUntilReady } from "./lib/http-client";
import { freePort } from "./lib/ports";
import { cpuSeconds, peakRssBytes, resetPeakRss, rssBytes } from "./lib/proc";
import { median, round } from "./lib/stats";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const RESULTS_FILE = path.join(REPO_ROOT, "bench", "results", "download.json");
// Any 32+ characters: the bench mints the session cookie with the same secret the console verifies it with.
const AUTH_SECRET = "lifeboat-download-benchmark-secret-0123456789";
const READY_TIMEOUT_MS = 120_000;
// The console writes its audit row just after the last byte; that work belongs to the download.
const SETTLE_MS = 300;
const RSS_SAMPLE_MS = 50;

interface Settings {
  size: number;
  runs: number;
  idleSeconds: number;
}

interface Measurement {
  seconds: number;
  mibPerSecond: number;
  cpuSeconds: number;
  cpuSecondsPerGiB: number;
  rssBeforeBytes: number;
  peakRssBytes: number;
  /** The machine's 1-minute load average as the run started: other work on the box skews every figure. */
  loadBefore: number;
}

interface Server {
  name: "console" | "plain-node";
  child: Child;
  url: string;
  headers: Record<string, string>;
}

function readSettings(): Settings {
  const sizeMiB = Number(process.env.BENCH_SIZE_MIB ?? 2048);
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  const idleSeconds = Number(process.env.BENCH_IDLE_SECONDS ?? 20);
  if (!Number.isInteger(sizeMiB) || sizeMiB < 1) throw new Error("BENCH_SIZE_MIB must be a positive whole number of MiB");
  if (!Number.isInteger(runs) || runs < 1 || runs > 20) throw new Error("BENCH_RUNS must be between 1 and 20");
  if (!Number.isFinite(idleSeconds) || idleSeconds < 0) throw new Error("BENCH_IDLE_SECONDS must be a number of seconds");
  return { size: sizeMiB * MiB, runs, idleSeconds };
}

/** Random bytes, 1 MiB at a time, so neither gzip-like tricks nor the bench's memory flatter anything. */
async function writeBackupFile(storageRoot: string, key: string, size: number): Promise<{ sha256: string; file: string }> {
  const hash = createHash("sha256");
  function* chunks(): Generator<Buffer> {
    for (let offset = 0; offset < size; offset += MiB) {
      const chunk = randomBytes(Math.min(MiB, size - offset));
      hash.update(chunk);
      yield chunk;
    }
  }
  await createStorage({ driver: "local", root: storageRoot }).putObject(key, Readable.from(chunks(), { objectMode: false }));
  // The local driver keeps objects under objects/<key>; the baseline serves that very file.
  const file = path.join(storageRoot, "objects", ...key.split("/"));
  if (statSync(file).size !== size) throw new Error(`${file} is not where the local storage driver was expected to put it`);
  return { sha256: hash.digest("hex"), file };
}

/** Before the console starts: the embedded database folder may have one opener only. Returns an administrator's session cookie. */
async function registerBackup(dataDir: string, backupId: string, file: { size: number; sha256: string; key: string }): Promise<string> {
  const handle = openDatabase({ kind: "pglite", dataDir: path.join(dataDir, "pglite") });
  try {
    await migrateDatabase({ kind: "pglite", handle }, path.join(REPO_ROOT, "drizzle"));
    await seedDemoProject(handle.db);
    const [prd] = await handle.db
      .select()
      .from(environments)
      .where(and(eq(environments.projectId, "acme"), eq(environments.name, "prd")));
    if (!prd) throw new Error("the demo seed has no prd environment");
    await insertBackupRows(handle.db, {
      id: backupId,
      environmentId: prd.id,
      files: [{ kind: "database", size: file.size, sha256: file.sha256, storageKey: file.key }],
    });
    return await sessionCookie(handle.db, DEMO_PEOPLE.admin, AUTH_SECRET);
  } finally {
    await handle.close();
  }
}

/** The console's environment, without anything from ours that would point it at a real database, bucket or IdP. */
function consoleEnv(dataDir: string, port: number, oidcPort: number): NodeJS.ProcessEnv {
  const env: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(DATABASE_URL|STORAGE_|S3_|OIDC_|LIFEBOAT_|NEXTAUTH_|AUTH_SECRET|DATA_DIR|PORT|HOST)/.test(name)) env[name] = value;
  }
  return {
    ...env,
    NODE_ENV: "production",
    DATA_DIR: dataDir,
    HOST: "127.0.0.1",
    PORT: String(port),
    LIFEBOAT_URL: `http://127.0.0.1:${port}`,
    DEV_OIDC_PORT: String(oidcPort),
    AUTH_SECRET,
    LOG_LEVEL: "warn",
  };
}

async function startConsole(dataDir: string, backupId: string, cookie: string): Promise<Server> {
  const [port, oidcPort] = [await freePort(), await freePort()];
  // `node --import tsx` rather than `npx tsx`: the pid we measure is then the process that serves.
  const child = startChild("console", process.execPath, ["--import", "tsx", "server.ts"], { cwd: REPO_ROOT, env: consoleEnv(dataDir, port, oidcPort) });
  const base = `http://127.0.0.1:${port}`;
  await waitUntilReady(`${base}/api/health`, () => !child.exited(), READY_TIMEOUT_MS).catch((error: unknown) => {
    throw new Error(`the console did not start: ${String(error)}\n${child.output()}`);
  });
  return { name: "console", child, url: `${base}/backup/download/database/${backupId}`, headers: { cookie } };
}

async function startPlainServer(file: string): Promise<Server> {
  const port = await freePort();
  const script = path.join(REPO_ROOT, "bench", "lib", "plain-file-server.mjs");
  const child = startChild("plain-node", process.execPath, [script, file, String(port)], { cwd: REPO_ROOT, env: process.env });
  const url = `http://127.0.0.1:${port}/file`;
  await waitUntilReady(url, () => !child.exited(), READY_TIMEOUT_MS);
  return { name: "plain-node", child, url, headers: {} };
}

async function measure(server: Server, size: number): Promise<Measurement> {
  const { pid } = server.child;
  const loadBefore = os.loadavg()[0] ?? Number.NaN;
  const peakIsPerRun = resetPeakRss(pid);
  const rssBefore = rssBytes(pid);
  let sampledPeak = rssBefore;
  const sampler = setInterval(() => {
    sampledPeak = Math.max(sampledPeak, rssBytes(pid));
  }, RSS_SAMPLE_MS);
  const cpuBefore = cpuSeconds(pid);
  let result;
  try {
    result = await download(server.url, { headers: server.headers });
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  } finally {
    clearInterval(sampler);
  }
  const cpu = cpuSeconds(pid) - cpuBefore;
  if (result.status !== 200 || result.bytes !== size) {
    throw new Error(`${server.name} answered ${result.status} with ${result.bytes} of ${size} bytes\n${server.child.output()}`);
  }
  return {
    seconds: result.seconds,
    mibPerSecond: size / MiB / result.seconds,
    cpuSeconds: cpu,
    cpuSecondsPerGiB: cpu / (size / GiB),
    rssBeforeBytes: rssBefore,
    loadBefore,
    peakRssBytes: Math.max(sampledPeak, peakIsPerRun ? peakRssBytes(pid) : 0),
  };
}

/** One untimed download each: fills caches, and proves the console sends the right bytes and checksum. */
async function warmUpAndVerify(servers: Server[], size: number, sha256: string): Promise<void> {
  for (const server of servers) {
    const result = await download(server.url, { headers: server.headers, hash: true });
    if (result.status !== 200 || result.bytes !== size || result.sha256 !== sha256) {
      throw new Error(`${server.name}: warm-up got ${result.status}, ${result.bytes} bytes, sha256 ${result.sha256}; expected ${size} bytes, ${sha256}`);
    }
    if (server.name === "console" && result.headers["x-lifeboat-sha256"] !== sha256) {
      throw new Error(`console sent X-Lifeboat-SHA256 ${String(result.headers["x-lifeboat-sha256"])}, expected ${sha256}`);
    }
  }
}

function summarize(runs: Measurement[]) {
  const mibs = runs.map((r) => r.mibPerSecond);
  const cpus = runs.map((r) => r.cpuSecondsPerGiB);
  return {
    mibPerSecond: { best: round(Math.max(...mibs)), median: round(median(mibs)) },
    cpuSecondsPerGiB: { best: round(Math.min(...cpus), 3), median: round(median(cpus), 3) },
    rssBeforeMiB: round(median(runs.map((r) => r.rssBeforeBytes)) / MiB, 1),
    peakRssMiB: round(Math.max(...runs.map((r) => r.peakRssBytes)) / MiB, 1),
    peakGrowthMiB: round(Math.max(...runs.map((r) => r.peakRssBytes - r.rssBeforeBytes)) / MiB, 1),
    runs: runs.map((r) => ({
      seconds: round(r.seconds, 3),
      mibPerSecond: round(r.mibPerSecond),
      cpuSeconds: round(r.cpuSeconds, 3),
      cpuSecondsPerGiB: round(r.cpuSecondsPerGiB, 3),
      rssBeforeMiB: round(r.rssBeforeBytes / MiB, 1),
      loadBefore: round(r.loadBefore, 2),
      peakRssMiB: round(r.peakRssBytes / MiB, 1),
    })),
  };
}

type Summary = ReturnType<typeof summarize>;

function printTable(settings: Settings, results: Record<Server["name"], Summary>, ratios: Record<string, number>): void {
  const header = ["server", "MiB/s best", "MiB/s median", "CPU-s/GiB best", "CPU-s/GiB median", "RSS before MiB", "peak RSS MiB", "peak growth MiB"];
  const rows = Object.entries(results).map(([name, s]) =>
    [name, s.mibPerSecond.best, s.mibPerSecond.median, s.cpuSecondsPerGiB.best, s.cpuSecondsPerGiB.median, s.rssBeforeMiB, s.peakRssMiB, s.peakGrowthMiB].map(
      String,
    ),
  );
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ");
  console.log(
    `\n${settings.size / MiB} MiB file, ${settings.runs} timed runs per server after ${settings.idleSeconds} s idle, ${os.cpus().length} CPUs, Node ${process.version}\n`,
  );
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  console.log("\nconsole ÷ plain Node:");
  for (const [name, value] of Object.entries(ratios)) console.log(`  ${name.padEnd(26)} ${value}`);
}

async function main(): Promise<void> {
  const settings = readSettings();
  const workspace = await openBenchWorkspace("download");
  if (!workspace) return;
  const { tmp, cleanup } = workspace;

  try {
    const dataDir = path.join(tmp, "data");
    const backupId = generateBackupId("acme");
    const key = storageKeyFor(backupId, "database");
    console.log(`Writing a ${settings.size / MiB} MiB file into ${dataDir}/storage …`);
    const { sha256, file } = await writeBackupFile(path.join(dataDir, "storage"), key, settings.size);
    const cookie = await registerBackup(dataDir, backupId, { size: settings.size, sha256, key });

    console.log("Starting the console (server.ts, production build) and the plain Node server …");
    const servers = [await startConsole(dataDir, backupId, cookie), await startPlainServer(file)];
    await warmUpAndVerify(servers, settings.size, sha256);
    // A server in production has been idle before most downloads, and V8 shrinks an idle heap after
    // about 15 s, which changes how it collects garbage; measuring only a freshly started process flatters it.
    console.log(`Letting both servers idle for ${settings.idleSeconds} s …`);
    await new Promise((resolve) => setTimeout(resolve, settings.idleSeconds * 1000));

    const measurements: Record<Server["name"], Measurement[]> = { console: [], "plain-node": [] };
    for (let run = 1; run <= settings.runs; run++) {
      // Interleaved, so drift in the machine's state (page cache, thermal, neighbours) hits both alike.
      for (const server of servers) {
        const m = await measure(server, settings.size);
        measurements[server.name].push(m);
        console.log(
          `  run ${run} ${server.name.padEnd(10)} ${round(m.mibPerSecond)} MiB/s, ${round(m.cpuSecondsPerGiB, 3)} CPU-s/GiB, RSS ${round(m.rssBeforeBytes / MiB, 1)} → peak ${round(m.peakRssBytes / MiB, 1)} MiB, load ${round(m.loadBefore, 2)}`,
        );
      }
    }

    const results = { console: summarize(measurements.console), "plain-node": summarize(measurements["plain-node"]) };
    const ratios = {
      "MiB/s (median)": round(results.console.mibPerSecond.median / results["plain-node"].mibPerSecond.median, 3),
      "MiB/s (best)": round(results.console.mibPerSecond.best / results["plain-node"].mibPerSecond.best, 3),
      "CPU-s/GiB (median)": round(results.console.cpuSecondsPerGiB.median / results["plain-node"].cpuSecondsPerGiB.median, 3),
      "CPU-s/GiB (best)": round(results.console.cpuSecondsPerGiB.best / results["plain-node"].cpuSecondsPerGiB.best, 3),
    };
    printTable(settings, results, ratios);

    await mkdir(path.dirname(RESULTS_FILE), { recursive: true });
    const report = {
      benchmark: "download",
      at: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? null, node: process.version, platform: `${os.platform()} ${os.release()}` },
      sizeBytes: settings.size,
      runsPerServer: settings.runs,
      idleSecondsBeforeRuns: settings.idleSeconds,
      results,
      ratios,
    };
    await writeFile(RESULTS_FILE, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`\nWritten to ${path.relative(REPO_ROOT, RESULTS_FILE)}`);
  } finally {
    await cleanup();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
