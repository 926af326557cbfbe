/**
 * What each stage of the upload byte path costs, without the console around
 * it: bench/lib/upload-stage-server.ts stores PUT bodies one way per run
 * (plain pipeline to a file; the size-checking file writer alone; the
 * current SHA-256 + writer path; the path before 0277fe3 with and without
 * its MD5), and this client sends BENCH_SIZE_MIB (default 1024) as 8 MiB
 * parts, 4 in flight, and reads the server's CPU from /proc.
 *
 *   npx tsx bench/upload-stages.ts
 *
 * BENCH_ROUNDS (default 2) repeats the whole list. Prints one line per run.
 */
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { Agent, request } from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { onInterrupt, startChild, stopAllChildren } from "./lib/children";
import { waitUntilReady } from "./lib/http-client";
import { freePort } from "./lib/ports";
import { cpuSeconds } from "./lib/proc";
import { round } from "./lib/stats";

const MiB = 1024 * 1024;
const PART = 8 * MiB;
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const STAGES = ["plain", "writer", "after", "before-without-md5", "before"] as const;

function put(url: string, agent: Agent, body: Buffer, sha256: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "PUT", agent, headers: { "content-length": body.length, "x-part-sha256": sha256 } }, (res) => {
      res.resume();
      res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on("error", reject);
    // 1 MiB writes, as a file read stream would send them.
    for (let offset = 0; offset < body.length; offset += MiB) req.write(body.subarray(offset, offset + MiB));
    req.end();
  });
}

async function main(): Promise<void> {
  const sizeMiB = Number(process.env.BENCH_SIZE_MIB ?? 1024);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
  const parts = Math.max(1, Math.floor((sizeMiB * MiB) / PART));
  const body = Buffer.alloc(PART, 7);
  const sha256 = createHash("sha256").update(body).digest("hex");
  const tmp = await mkdtemp(path.join(os.tmpdir(), "lifeboat-bench-stages-"));
  const cleanup = async () => {
    await stopAllChildren();
    await rm(tmp, { recursive: true, force: true });
  };
  onInterrupt(cleanup);
  console.log(`${parts} parts of 8 MiB, 4 in flight, ${os.cpus().length} CPUs, Node ${process.version}`);
  try {
    for (let round_ = 1; round_ <= rounds; round_++) {
      for (const stage of STAGES) {
        const dir = await mkdtemp(path.join(tmp, `${stage}-`));
        const port = await freePort();
        const child = startChild(
          stage,
          process.execPath,
          ["--import", "tsx", path.join(REPO_ROOT, "bench", "lib", "upload-stage-server.ts"), dir, String(port), stage],
          {
            cwd: REPO_ROOT,
            env: process.env,
          },
        );
        await waitUntilReady(`http://127.0.0.1:${port}/`, () => !child.exited(), 60_000);
        const agent = new Agent({ keepAlive: true, maxSockets: 4 });
        const load = os.loadavg()[0] ?? Number.NaN;
        const cpuBefore = cpuSeconds(child.pid);
        const started = process.hrtime.bigint();
        let next = 0;
        await Promise.all(
          Array.from({ length: 4 }, async () => {
            while (next < parts) {
              next++;
              await put(`http://127.0.0.1:${port}/part`, agent, body, sha256);
            }
          }),
        );
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const gib = (parts * PART) / (1024 * MiB);
        const cpu = (cpuSeconds(child.pid) - cpuBefore) / gib;
        console.log(
          `  round ${round_} ${stage.padEnd(18)} ${round((parts * PART) / MiB / seconds, 0)} MiB/s, ${round(cpu, 2)} CPU-s/GiB, load ${round(load, 2)}`,
        );
        agent.destroy();
        await child.stop();
        await rm(dir, { recursive: true, force: true });
      }
    }
  } finally {
    await cleanup();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
