/**
 * Upload benchmark: one large file sent through the real console's chunk
 * protocol (server.ts, production build: session → parallel PUTs of parts →
 * complete), next to a plain Node server piping each PUT to a file and to
 * @tus/server with @tus/file-store, all in the same run on this machine.
 * Reports MiB/s, server CPU seconds per GiB and server peak memory for each,
 * the ratios to plain Node, and the console's verification on completion.
 *
 *   npx next build            # once; the console serves the production build
 *   npx tsx bench/upload.ts
 *
 * BENCH_SIZE_MIB (default 2048) sets the file size, BENCH_RUNS (default 3)
 * the timed uploads per server, BENCH_PARALLEL (default 4) the parts in
 * flight. Part SHA-256s are computed before timing (and reported apart), so
 * the client's hashing does not slow the timed runs. Figures go to
 * bench/results/upload.json. Everything listens on 127.0.0.1 and lives in
 * one temp folder, removed at the end.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { Agent, request } from "node:http";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";

import { sessionCookie } from "@/lib/auth/testing";
import { documentLibraryTgz } from "@/lib/backups/verify/testing";
import { openDatabase } from "@/lib/db/client";
import { migrateDatabase } from "@/lib/db/migrate";
import { choosePartSize } from "@/lib/uploads/limits";
import type { UploadSessionView } from "@/lib/uploads/view";

import { openBenchWorkspace, REPO_ROOT } from "./lib/workspace";
import { startChild } from "./lib/children";
import type { Child } from "./lib/children";
import { waitUntilReady } from "./lib/http-client";
import { freePort } from "./lib/ports";
import { cpuSeconds, peakRssBytes, resetPeakRss, rssBytes } from "./lib/proc";
import { median, round } from "./lib/stats";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const RESULTS_FILE = path.join(REPO_ROOT, "bench", "results", "upload.json");
const AUTH_SECRET = "lifeboat-upload-benchmark-secret-0123456789abcdef";
const READY_TIMEOUT_MS = 60_000;
const COMPLETION_TIMEOUT_MS = 30 * 60_000;

type ServerName = "console" | "plain-node" | "tus";

interface Settings {
  sizeMiB: number;
  runs: number;
  parallel: number;
}

interface Part {
  partNumber: number;
  offset: number;
  length: number;
  sha256: string;
}

interface Source {
  file: string;
  size: number;
  sha256: string;
  partSize: number;
  parts: Part[];
}

interface Target {
  name: ServerName;
  child: Child;
  base: string;
  /** Where received bytes land, to be emptied between runs (the console manages its own). */
  dir?: string;
}

interface Measurement {
  seconds: number;
  mibPerSecond: number;
  cpuSecondsPerGiB: number;
  rssBeforeBytes: number;
  peakRssBytes: number;
  /** The machine's 1-minute load average as the run started: other work on the box skews every figure. */
  loadBefore: number;
}

function readSettings(): Settings {
  const int = (name: string, fallback: number) => {
    const value = Number.parseInt(process.env[name] ?? "", 10);
    return Number.isFinite(value) && value > 0 ? value : fallback;
  };
  return { sizeMiB: int("BENCH_SIZE_MIB", 2048), runs: int("BENCH_RUNS", 3), parallel: int("BENCH_PARALLEL", 4) };
}

/** A PostgreSQL-style dump, gzip'd at level 0 (stored blocks) so the file is exactly as large as asked and still verifies. */
async function writeDatabaseFile(file: string, sizeMiB: number): Promise<{ size: number; sha256: string }> {
  const header =
    "--\n-- PostgreSQL database dump\n--\n\n-- Dumped from database version 16.4\n-- Dumped by pg_dump version 16.4\n\nSET statement_timeout = 0;\n\nCREATE TABLE public.dlfileentry (id bigint, data text);\n\nCOPY public.dlfileentry (id, data) FROM stdin;\n";
  const rows: string[] = [];
  for (let i = 0, size = 0; size < MiB; i++) {
    const row = `${i}\t${createHash("sha256").update(String(i)).digest("hex").repeat(3)}\n`;
    rows.push(row);
    size += row.length;
  }
  const block = Buffer.from(rows.join(""));
  // Level 0 adds 5 bytes per 64 KiB block and a few at the ends; aim the text a little short of the target.
  const target = sizeMiB * MiB - Math.ceil((sizeMiB * MiB) / 65_535) * 5 - 64;
  function* dump(): Generator<Buffer> {
    let written = 0;
    const head = Buffer.from(header);
    yield head;
    written += head.length;
    while (written + block.length <= target) {
      yield block;
      written += block.length;
    }
    yield Buffer.from("\\.\n".padStart(Math.max(3, target - written), "\n"));
  }
  const hash = createHash("sha256");
  let size = 0;
  await pipeline(
    Readable.from(dump()),
    createGzip({ level: 0 }),
    async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        hash.update(chunk);
        size += chunk.length;
        yield chunk;
      }
    },
    createWriteStream(file),
  );
  return { size, sha256: hash.digest("hex") };
}

async function hashRange(file: string, start: number, length: number): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file, { start, end: start + length - 1, highWaterMark: MiB })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

async function describeSource(file: string, size: number, sha256: string): Promise<Source> {
  const partSize = choosePartSize(size);
  const parts: Part[] = [];
  for (let offset = 0, n = 1; offset < size; offset += partSize, n++) {
    const length = Math.min(partSize, size - offset);
    parts.push({ partNumber: n, offset, length, sha256: await hashRange(file, offset, length) });
  }
  return { file, size, sha256, partSize, parts };
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request; `file` ranges are streamed from disk, never read whole. */
function send(
  url: string,
  {
    method,
    headers = {},
    json,
    file,
    agent,
  }: { method: string; headers?: Record<string, string>; json?: unknown; file?: { path: string; offset: number; length: number }; agent?: Agent },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = json === undefined ? undefined : Buffer.from(JSON.stringify(json));
    const length = payload?.length ?? file?.length ?? 0;
    const req = request(url, {
      method,
      agent,
      headers: { ...headers, "content-length": String(length), ...(payload ? { "content-type": "application/json" } : {}) },
    });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    if (file) {
      createReadStream(file.path, { start: file.offset, end: file.offset + file.length - 1, highWaterMark: MiB })
        .on("error", reject)
        .pipe(req);
    } else {
      req.end(payload);
    }
  });
}

function expectStatus(reply: Reply, status: number, what: string): void {
  if (reply.status !== status) throw new Error(`${what}: expected ${status}, got ${reply.status} ${reply.body.slice(0, 300)}`);
}

/** Runs `work` over `items` with at most `parallel` at once. */
async function pool<T>(items: readonly T[], parallel: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, worker));
}

// ——— the three servers ———

function consoleEnv(dataDir: string, port: number, oidcPort: number): NodeJS.ProcessEnv {
  const env: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(process.env)) {
    // Nothing of ours that would point the console at a real database, bucket or identity provider.
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

async function startConsole(tmp: string): Promise<{ target: Target; auth: Record<string, string> }> {
  const [port, oidcPort] = [await freePort(), await freePort()];
  const auth = await consoleAuth(tmp, `http://127.0.0.1:${port}`);
  // `node --import tsx` rather than `npx tsx`: the pid measured is then the process that serves.
  const child = startChild("console", process.execPath, ["--import", "tsx", "server.ts"], {
    cwd: REPO_ROOT,
    env: consoleEnv(path.join(tmp, "console-data"), port, oidcPort),
  });
  const base = `http://127.0.0.1:${port}`;
  await waitUntilReady(`${base}/api/health`, () => !child.exited(), READY_TIMEOUT_MS).catch((error: unknown) => {
    throw new Error(`the console did not start: ${String(error)}\n${child.output()}`);
  });
  return { target: { name: "console", child, base }, auth };
}

async function startScript(name: "plain-node" | "tus", script: string, dir: string, readyPath: string): Promise<Target> {
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const child = startChild(name, process.execPath, [path.join(REPO_ROOT, "bench", script), dir, String(port)], { cwd: REPO_ROOT, env: process.env });
  const base = `http://127.0.0.1:${port}`;
  await waitUntilReady(`${base}${readyPath}`, () => !child.exited(), READY_TIMEOUT_MS).catch((error: unknown) => {
    throw new Error(`${name} did not start: ${String(error)}\n${child.output()}`);
  });
  return { name, child, base, dir };
}

// ——— one upload per protocol ———

/**
 * An administrator's session in the console's embedded database, made
 * before the console starts (one opener only), with the Origin its pages
 * send: what the browser's requests carry.
 */
async function consoleAuth(tmp: string, base: string): Promise<Record<string, string>> {
  const handle = openDatabase({ kind: "pglite", dataDir: path.join(tmp, "console-data", "pglite") });
  try {
    await migrateDatabase({ kind: "pglite", handle }, path.join(REPO_ROOT, "drizzle"));
    const cookie = await sessionCookie(
      handle.db,
      { sub: "bench-admin", email: "bench-admin@acme.test", name: "Bench Admin", groups: ["acme-admins"] },
      AUTH_SECRET,
    );
    return { cookie, origin: base };
  } finally {
    await handle.close();
  }
}

interface ConsoleUpload {
  session: UploadSessionView;
}

async function uploadToConsole(
  target: Target,
  sources: { database: Source; volume: Source },
  run: number,
  settings: Settings,
  auth: Record<string, string>,
): Promise<ConsoleUpload> {
  const agent = new Agent({ keepAlive: true, maxSockets: settings.parallel });
  try {
    const created = await send(`${target.base}/api/v1/projects/acme/environments/prd/uploads`, {
      method: "POST",
      headers: { ...auth },
      json: {
        database: { fileName: `bench-${run}.gz`, size: sources.database.size },
        volume: { fileName: `bench-${run}.tgz`, size: sources.volume.size },
      },
      agent,
    });
    expectStatus(created, 201, "creating the upload session");
    const { session } = JSON.parse(created.body) as { session: UploadSessionView };
    const jobs: { uploadId: string; source: Source; part: Part }[] = [];
    for (const kind of ["database", "volume"] as const) {
      const upload = session.uploads.find((u) => u.kind === kind)!;
      const source = sources[kind];
      if (upload.partSize !== source.partSize) throw new Error(`the console chose ${upload.partSize}-byte parts, the bench ${source.partSize}`);
      for (const part of source.parts) jobs.push({ uploadId: upload.id, source, part });
    }
    await pool(jobs, settings.parallel, async ({ uploadId, source, part }) => {
      const reply = await send(`${target.base}/api/v1/uploads/${uploadId}/parts/${part.partNumber}`, {
        method: "PUT",
        headers: { ...auth, "x-part-sha256": part.sha256, "content-type": "application/octet-stream" },
        file: { path: source.file, offset: part.offset, length: part.length },
        agent,
      });
      expectStatus(reply, 200, `part ${part.partNumber}`);
    });
    return { session };
  } finally {
    agent.destroy();
  }
}

async function uploadToPlain(target: Target, sources: { database: Source; volume: Source }, run: number, settings: Settings): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: settings.parallel });
  try {
    const jobs = (["database", "volume"] as const).flatMap((kind) => sources[kind].parts.map((part) => ({ kind, part, source: sources[kind] })));
    await pool(jobs, settings.parallel, async ({ kind, part, source }) => {
      const reply = await send(`${target.base}/r${run}-${kind}-${part.partNumber}`, {
        method: "PUT",
        file: { path: source.file, offset: part.offset, length: part.length },
        agent,
      });
      expectStatus(reply, 200, `plain part ${part.partNumber}`);
    });
  } finally {
    agent.destroy();
  }
}

/**
 * tus uploads one file as a sequence of PATCHes; parallelism comes from
 * several uploads at once. The database file is split into `parallel`
 * contiguous ranges, each its own tus upload sent in part-sized PATCHes
 * (as tus-js-client does with `chunkSize`).
 */
async function uploadToTus(target: Target, sources: { database: Source; volume: Source }, settings: Settings): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: settings.parallel });
  const tus = { "tus-resumable": "1.0.0" };
  try {
    const groups: { source: Source; parts: Part[] }[] = [];
    const per = Math.ceil(sources.database.parts.length / settings.parallel);
    for (let i = 0; i < sources.database.parts.length; i += per) groups.push({ source: sources.database, parts: sources.database.parts.slice(i, i + per) });
    groups.push({ source: sources.volume, parts: sources.volume.parts });
    await pool(groups, settings.parallel, async ({ source, parts }) => {
      const length = parts.reduce((sum, p) => sum + p.length, 0);
      const created = await send(`${target.base}/files`, { method: "POST", headers: { ...tus, "upload-length": String(length) }, agent });
      expectStatus(created, 201, "creating a tus upload");
      const location = new URL(String(created.headers.location), target.base).toString();
      let offset = 0;
      for (const part of parts) {
        const reply = await send(location, {
          method: "PATCH",
          headers: { ...tus, "upload-offset": String(offset), "content-type": "application/offset+octet-stream" },
          file: { path: source.file, offset: part.offset, length: part.length },
          agent,
        });
        expectStatus(reply, 204, "a tus PATCH");
        offset += part.length;
      }
    });
  } finally {
    agent.destroy();
  }
}

// ——— measuring ———

async function measure(target: Target, bytes: number, work: () => Promise<void>): Promise<Measurement> {
  const { pid } = target.child;
  const loadBefore = os.loadavg()[0] ?? Number.NaN;
  const peakIsPerRun = resetPeakRss(pid);
  const rssBefore = rssBytes(pid);
  let sampledPeak = rssBefore;
  const sampler = setInterval(() => {
    sampledPeak = Math.max(sampledPeak, rssBytes(pid));
  }, 50);
  const cpuBefore = cpuSeconds(pid);
  const started = process.hrtime.bigint();
  try {
    await work();
  } finally {
    clearInterval(sampler);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = cpuSeconds(pid) - cpuBefore;
  return {
    seconds,
    mibPerSecond: bytes / MiB / seconds,
    cpuSecondsPerGiB: cpu / (bytes / GiB),
    rssBeforeBytes: rssBefore,
    loadBefore,
    peakRssBytes: peakIsPerRun ? peakRssBytes(pid) : Math.max(sampledPeak, rssBytes(pid)),
  };
}

async function emptyDir(dir: string): Promise<void> {
  for (const name of await readdir(dir)) await rm(path.join(dir, name), { recursive: true, force: true });
}

async function pollSession(target: Target, sessionId: string, auth: Record<string, string>): Promise<UploadSessionView> {
  const deadline = Date.now() + COMPLETION_TIMEOUT_MS;
  for (;;) {
    const reply = await send(`${target.base}/api/v1/uploads/${sessionId}`, { method: "GET", headers: { ...auth } });
    expectStatus(reply, 200, "polling the session");
    const { session } = JSON.parse(reply.body) as { session: UploadSessionView };
    if (session.status !== "completing") return session;
    if (Date.now() > deadline) throw new Error("the upload did not finish verifying in time");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The console's part after the bytes: assemble, read back, hash and verify both files, record the backup. */
async function completeOnConsole(target: Target, upload: ConsoleUpload, sources: { database: Source; volume: Source }, auth: Record<string, string>) {
  let final: UploadSessionView | undefined;
  const m = await measure(target, sources.database.size + sources.volume.size, async () => {
    const reply = await send(`${target.base}/api/v1/uploads/${upload.session.id}/complete`, {
      method: "POST",
      headers: { ...auth },
      json: { database: { sha256: sources.database.sha256 }, volume: { sha256: sources.volume.sha256 } },
    });
    expectStatus(reply, 202, "completing the upload");
    final = await pollSession(target, upload.session.id, auth);
  });
  if (final?.status !== "completed") throw new Error(`the upload did not become a backup: ${final?.statusReason ?? final?.status}`);
  return {
    status: final.status,
    backupId: final.backupId,
    seconds: round(m.seconds, 2),
    mibPerSecond: round(m.mibPerSecond, 1),
    cpuSecondsPerGiB: round(m.cpuSecondsPerGiB, 3),
    peakRssMiB: round(m.peakRssBytes / MiB, 1),
  };
}

function summarize(runs: Measurement[]) {
  const pick = (f: (m: Measurement) => number) => ({ median: round(median(runs.map(f)), 3), runs: runs.map((m) => round(f(m), 3)) });
  return {
    mibPerSecond: pick((m) => m.mibPerSecond),
    cpuSecondsPerGiB: pick((m) => m.cpuSecondsPerGiB),
    rssBeforeMiB: pick((m) => m.rssBeforeBytes / MiB),
    peakRssMiB: pick((m) => m.peakRssBytes / MiB),
    /** What the upload itself added on top of the idle server. */
    peakRssGrowthMiB: pick((m) => (m.peakRssBytes - m.rssBeforeBytes) / MiB),
    loadBefore: pick((m) => m.loadBefore),
  };
}

type Summary = ReturnType<typeof summarize>;

function ratio(a: Summary, b: Summary) {
  return {
    mibPerSecond: round(a.mibPerSecond.median / b.mibPerSecond.median, 3),
    cpuSecondsPerGiB: round(a.cpuSecondsPerGiB.median / b.cpuSecondsPerGiB.median, 3),
    peakRssMiB: round(a.peakRssMiB.median / b.peakRssMiB.median, 3),
    peakRssGrowthMiB: round(a.peakRssGrowthMiB.median / Math.max(1, b.peakRssGrowthMiB.median), 3),
  };
}

function printTable(results: Record<ServerName, Summary>, ratios: Record<"console" | "tus", ReturnType<typeof ratio>>): void {
  const header = ["server", "MiB/s", "CPU-s/GiB", "RSS before", "peak RSS MiB", "growth", "÷ plain: MiB/s", "CPU", "RSS"];
  const rows = (Object.keys(results) as ServerName[]).map((name) => {
    const r = results[name];
    const q = name === "plain-node" ? null : ratios[name];
    return [
      name,
      r.mibPerSecond.median,
      r.cpuSecondsPerGiB.median,
      r.rssBeforeMiB.median,
      r.peakRssMiB.median,
      r.peakRssGrowthMiB.median,
      q?.mibPerSecond ?? 1,
      q?.cpuSecondsPerGiB ?? 1,
      q?.peakRssMiB ?? 1,
    ].map(String);
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ");
  console.log(`\n${line(header)}`);
  for (const row of rows) console.log(line(row));
}

async function main(): Promise<void> {
  const settings = readSettings();
  const workspace = await openBenchWorkspace("upload");
  if (!workspace) return;
  const { tmp, cleanup } = workspace;

  try {
    console.log(`Writing a ${settings.sizeMiB} MiB database.gz and a small volume.tgz into ${tmp} …`);
    const databaseFile = path.join(tmp, "database.gz");
    const written = await writeDatabaseFile(databaseFile, settings.sizeMiB);
    const volumeFile = path.join(tmp, "volume.tgz");
    const volumeBytes = await documentLibraryTgz();
    await writeFile(volumeFile, volumeBytes);

    const hashStarted = process.hrtime.bigint();
    const sources = {
      database: await describeSource(databaseFile, written.size, written.sha256),
      volume: await describeSource(volumeFile, volumeBytes.length, createHash("sha256").update(volumeBytes).digest("hex")),
    };
    const hashSeconds = Number(process.hrtime.bigint() - hashStarted) / 1e9;
    const bytes = sources.database.size + sources.volume.size;
    console.log(
      `Client hashing (every part's SHA-256, before timing): ${round(hashSeconds, 2)} s, ${round(sources.database.size / MiB / hashSeconds, 1)} MiB/s; ` +
        `${sources.database.parts.length} parts of ${sources.database.partSize / MiB} MiB, ${settings.parallel} in flight.`,
    );

    console.log("Starting the console (server.ts, production build), the plain Node server and the tus server …");
    const consoleServer = await startConsole(tmp);
    const targets: Target[] = [
      consoleServer.target,
      await startScript("plain-node", "upload-plain-server.mjs", path.join(tmp, "plain"), "/"),
      await startScript("tus", "upload-tus-server.mjs", path.join(tmp, "tus"), "/health"),
    ];
    const { auth } = consoleServer;

    // One small untimed round first: JIT, first route loads and database caches warm up before anything is timed.
    const warmFile = path.join(tmp, "warm-up.gz");
    const warmWritten = await writeDatabaseFile(warmFile, 64);
    const warm = { database: await describeSource(warmFile, warmWritten.size, warmWritten.sha256), volume: sources.volume };
    for (const target of targets) {
      if (target.name === "console") await completeOnConsole(target, await uploadToConsole(target, warm, 0, settings, auth), warm, auth);
      else if (target.name === "plain-node") await uploadToPlain(target, warm, 0, settings);
      else await uploadToTus(target, warm, settings);
      if (target.dir) await emptyDir(target.dir);
    }
    await rm(warmFile);

    const measurements: Record<ServerName, Measurement[]> = { console: [], "plain-node": [], tus: [] };
    let completion: Awaited<ReturnType<typeof completeOnConsole>> | undefined;

    for (let run = 1; run <= settings.runs; run++) {
      // A different order each run, so drift in the machine's state does not favour one server.
      const order = targets.map((_, i) => targets[(i + run - 1) % targets.length]!);
      for (const target of order) {
        let upload: ConsoleUpload | undefined;
        const m = await measure(target, bytes, async () => {
          if (target.name === "console") upload = await uploadToConsole(target, sources, run, settings, auth);
          else if (target.name === "plain-node") await uploadToPlain(target, sources, run, settings);
          else await uploadToTus(target, sources, settings);
        });
        measurements[target.name].push(m);
        console.log(
          `  run ${run} ${target.name.padEnd(10)} ${round(m.mibPerSecond, 1)} MiB/s, ${round(m.cpuSecondsPerGiB, 3)} CPU-s/GiB, RSS ${round(m.rssBeforeBytes / MiB, 1)} → peak ${round(m.peakRssBytes / MiB, 1)} MiB, load ${round(m.loadBefore, 2)}`,
        );
        if (target.dir) await emptyDir(target.dir);
        if (upload && run === 1) {
          completion = await completeOnConsole(target, upload, sources, auth);
          console.log(
            `    completion: verified and recorded backup ${completion.backupId} in ${completion.seconds} s (${completion.mibPerSecond} MiB/s, ${completion.cpuSecondsPerGiB} CPU-s/GiB)`,
          );
        } else if (upload) {
          const aborted = await send(`${target.base}/api/v1/uploads/${upload.session.id}`, { method: "DELETE", headers: { ...auth } });
          expectStatus(aborted, 204, "aborting the upload");
        }
      }
    }

    const results = { console: summarize(measurements.console), "plain-node": summarize(measurements["plain-node"]), tus: summarize(measurements.tus) };
    const ratios = { console: ratio(results.console, results["plain-node"]), tus: ratio(results.tus, results["plain-node"]) };
    console.log(`\n${round(bytes / MiB, 1)} MiB, ${settings.runs} timed runs per server (median), ${os.cpus().length} CPUs, Node ${process.version}`);
    printTable(results, ratios);

    await mkdir(path.dirname(RESULTS_FILE), { recursive: true });
    const report = {
      benchmark: "upload",
      at: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? null, node: process.version, platform: `${os.platform()} ${os.release()}` },
      sizeBytes: bytes,
      partSize: sources.database.partSize,
      parts: sources.database.parts.length + sources.volume.parts.length,
      parallel: settings.parallel,
      runsPerServer: settings.runs,
      clientHashing: { seconds: round(hashSeconds, 2), mibPerSecond: round(sources.database.size / MiB / hashSeconds, 1) },
      results,
      ratiosToPlainNode: ratios,
      consoleCompletion: completion,
      notes: [
        "After one untimed 64 MiB warm-up upload per server. Timed: session creation (console, tus) and every part; the console's completion (assemble, read back, SHA-256, gunzip, SQL and tar checks) is timed apart.",
        "CPU and peak RSS are the server process's own, from /proc (all threads), after resetting VmHWM before each run.",
        "tus: the database file as parallel contiguous uploads, each sent in part-sized PATCHes.",
      ],
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
