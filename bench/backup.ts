/**
 * Backup benchmark: the backup engine against `pg_dump | gzip -6` on the same
 * PostgreSQL database in the same run, then restoring each file with
 * `gunzip -c | psql` (the engine has no restore of its own yet, so both
 * restores use the shell; the figure shows our faster-compressed file costs
 * nothing at restore time).
 *
 *   npx tsx bench/backup.ts
 *
 * BENCH_DB_MIB (default 1100) sets the generated database's size on disk
 * (`generate_series` into a throwaway database on postgres@127.0.0.1:5432),
 * BENCH_RUNS (default 2) the timed runs of each side. `pg_dump > /dev/null`
 * is timed too: the engine cannot finish before pg_dump does, so
 * baseline ÷ that is the most any compression could gain here. The engine's time is a
 * whole backup: dump, gzip, SHA-256, storage, the (small) volume folder, and
 * reading both files back to verify them. Figures go to bench/results/backup.json.
 * The throwaway databases and the temp folder are removed at the end.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createWriteStream } from "node:fs";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";

import { and, eq } from "drizzle-orm";

import { backupObjectKey, CREATE_BACKUP_QUEUE, runCreateBackup } from "@/lib/backups/engine/create-backup";
import { BACKUP_GZIP_LEVEL } from "@/lib/backups/engine/stream-to-storage";
import { requestBackup } from "@/lib/backups/engine/request";
import { resolveEnvironmentRoles } from "@/lib/db/queries/roles";
import { getBackup } from "@/lib/db/queries/backups";
import { environments, jobs } from "@/lib/db/schema";
import { DEMO_GROUPS, seedDemoProject } from "@/lib/db/seed";
import { createTestDatabase } from "@/lib/db/testing";
import { createStorage } from "@/lib/storage";

import { median, round } from "./lib/stats";

const MiB = 1024 * 1024;
const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));
const RESULTS_FILE = path.join(REPO_ROOT, "bench", "results", "backup.json");
const PG = { host: "127.0.0.1", port: 5432, user: "postgres" };

const dbMiB = Number(process.env.BENCH_DB_MIB ?? 1100);
const runs = Number(process.env.BENCH_RUNS ?? 2);
const suffix = randomBytes(4).toString("hex");
const SOURCE = `lb_bench_src_${suffix}`;
const TARGET = `lb_bench_dst_${suffix}`;

function psql(database: string, query: string): string {
  return execFileSync("psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", PG.host, "-U", PG.user, "-d", database, "-c", query], { encoding: "utf8" }).trim();
}

function shell(script: string): number {
  const started = performance.now();
  const result = spawnSync("bash", ["-o", "pipefail", "-c", script], { stdio: ["ignore", "ignore", "inherit"] });
  if (result.status !== 0) throw new Error(`failed: ${script}`);
  return (performance.now() - started) / 1000;
}

async function generate(): Promise<number> {
  psql("postgres", `create database ${SOURCE}`);
  // A portal-like mix: ids, short keys, timestamps, numbers and free text, some of it repetitive, some not.
  psql(
    SOURCE,
    `create table events (id bigint primary key, account text not null, kind text not null, amount numeric(12,2), at timestamptz not null, note text);
     create table accounts (id int primary key, email text not null, name text, created timestamptz);
     insert into accounts select g, 'user' || g || '@acme.test', 'Person ' || g, timestamptz '2020-01-01' + g * interval '1 hour' from generate_series(1, 200000) g;`,
  );
  const batch = 1_000_000;
  let from = 1;
  for (;;) {
    const bytes = Number(psql(SOURCE, "select pg_database_size(current_database())"));
    if (bytes >= dbMiB * MiB) return bytes;
    psql(
      SOURCE,
      `insert into events select g, 'acct-' || (g % 50000), (array['login','view','purchase','refund','comment'])[1 + g % 5], (g % 100000) / 100.0,
         timestamptz '2024-01-01' + g * interval '1 second', case when g % 3 = 0 then md5(g::text) else 'viewed page /web/guest/home?p=' || (g % 977) end
       from generate_series(${from}, ${from + batch - 1}) g`,
    );
    from += batch;
  }
}

function resetTarget(): void {
  psql("postgres", `drop database if exists ${TARGET} with (force)`);
  psql("postgres", `create database ${TARGET}`);
}

async function main() {
  const root = await mkdtemp(path.join(os.tmpdir(), "lifeboat-bench-backup-"));
  const handle = await createTestDatabase("pglite");
  try {
    console.log(`generating a ~${dbMiB} MiB database ${SOURCE} …`);
    const databaseBytes = await generate();
    console.log(`database: ${round(databaseBytes / MiB, 1)} MiB on disk`);
    const volume = path.join(root, "document_library");
    await mkdir(path.join(volume, "0"), { recursive: true });
    await writeFile(path.join(volume, "0", "readme.txt"), "a small volume: this benchmark is about the database\n");

    process.env.NEXTAUTH_SECRET ??= "lifeboat-backup-benchmark-secret-0123456789";
    await seedDemoProject(handle.db);
    const storage = createStorage({ driver: "local", root: path.join(root, "storage") });
    const [environment] = await handle.db
      .update(environments)
      .set({ dbEngine: "postgresql", dbHost: PG.host, dbPort: PG.port, dbName: SOURCE, dbUser: PG.user, volumePath: volume })
      .where(eq(environments.name, "dev"))
      .returning();
    const groups = [DEMO_GROUPS.admins];
    const actor = { kind: "user" as const, id: "bench", email: "bench@acme.test", name: null, groups, roles: await resolveEnvironmentRoles(handle.db, { groups }) };
    const deps = { db: handle.db, storage };

    const shellFile = path.join(root, "shell.sql.gz");
    const engineFile = path.join(root, "engine.sql.gz");
    const engine: number[] = [];
    const baseline: number[] = [];
    // pg_dump alone, output thrown away: the floor no compressor can beat.
    const dumpOnly: number[] = [];
    let engineSize = 0;
    let lastBackupId = "";
    for (let run = 1; run <= runs; run++) {
      baseline.push(shell(`pg_dump --format=plain --no-password -h ${PG.host} -p ${PG.port} -U ${PG.user} ${SOURCE} | gzip -6 > ${shellFile}`));
      dumpOnly.push(shell(`pg_dump --format=plain --no-password -h ${PG.host} -p ${PG.port} -U ${PG.user} ${SOURCE} > /dev/null`));
      const backup = await requestBackup({ db: handle.db, actor, environment: environment!, input: { name: `bench ${run}` } });
      const [job] = await handle.db.select().from(jobs).where(and(eq(jobs.queue, CREATE_BACKUP_QUEUE), eq(jobs.status, "queued")));
      const started = performance.now();
      await runCreateBackup(deps, { id: job!.id }, { backupId: backup.id });
      engine.push((performance.now() - started) / 1000);
      // No worker here: the job row is settled by hand, so the next run's lookup finds its own job.
      await handle.db.update(jobs).set({ status: "completed" }).where(eq(jobs.id, job!.id));
      const done = await getBackup(handle.db, { id: backup.id });
      if (done?.status !== "completed") throw new Error(`engine backup ${done?.status}: ${done?.statusReason}`);
      engineSize = done.files.find((f) => f.kind === "database")!.sizeBytes;
      if (lastBackupId) await Promise.all(["database", "volume"].map((k) => storage.deleteObject(backupObjectKey(lastBackupId, k as "database"))));
      lastBackupId = backup.id;
      console.log(`run ${run}: engine ${round(engine.at(-1)!)} s, pg_dump | gzip -6 ${round(baseline.at(-1)!)} s, pg_dump > /dev/null ${round(dumpOnly.at(-1)!)} s`);
    }
    const shellSize = (await stat(shellFile)).size;
    await pipeline(await storage.getObject(backupObjectKey(lastBackupId, "database")), createWriteStream(engineFile));

    const restore = { engineFile: [] as number[], gzip6File: [] as number[] };
    for (let run = 1; run <= runs; run++) {
      resetTarget();
      restore.engineFile.push(shell(`gunzip -c ${engineFile} | psql -X -q -v ON_ERROR_STOP=1 -h ${PG.host} -U ${PG.user} -d ${TARGET} > /dev/null`));
      resetTarget();
      restore.gzip6File.push(shell(`gunzip -c ${shellFile} | psql -X -q -v ON_ERROR_STOP=1 -h ${PG.host} -U ${PG.user} -d ${TARGET} > /dev/null`));
      console.log(`restore ${run}: engine's file ${round(restore.engineFile.at(-1)!)} s, gzip -6 file ${round(restore.gzip6File.at(-1)!)} s`);
    }
    const rows = psql(TARGET, "select count(*) from events");
    if (rows !== psql(SOURCE, "select count(*) from events")) throw new Error("the restore lost rows");

    const results = {
      benchmark: "backup",
      at: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model.trim(), node: process.version, platform: `${os.platform()} ${os.release()}` },
      database: { engine: "postgresql", server: psql(SOURCE, "show server_version"), sizeOnDiskBytes: databaseBytes, eventsRows: Number(rows) },
      gzipLevel: BACKUP_GZIP_LEVEL,
      runs,
      backup: {
        engineSeconds: { median: round(median(engine), 3), runs: engine.map((s) => round(s, 3)) },
        pgDumpGzip6Seconds: { median: round(median(baseline), 3), runs: baseline.map((s) => round(s, 3)) },
        pgDumpOnlySeconds: { median: round(median(dumpOnly), 3), runs: dumpOnly.map((s) => round(s, 3)) },
        speedup: round(median(baseline) / median(engine), 2),
        /** How far the baseline is above pg_dump alone: the most any compressor could gain on this machine. */
        maxPossibleSpeedup: round(median(baseline) / median(dumpOnly), 2),
        engineDatabaseGzBytes: engineSize,
        pgDumpGzip6Bytes: shellSize,
        sizeRatio: round(engineSize / shellSize, 3),
        note: "engine time is a whole backup (dump, gzip, SHA-256, local storage, volume, read-back verification); the baseline only writes one file",
      },
      restore: {
        engineFileSeconds: { median: round(median(restore.engineFile), 3), runs: restore.engineFile.map((s) => round(s, 3)) },
        gzip6FileSeconds: { median: round(median(restore.gzip6File), 3), runs: restore.gzip6File.map((s) => round(s, 3)) },
        ratio: round(median(restore.engineFile) / median(restore.gzip6File), 2),
        note: "both restored with gunzip -c | psql into a fresh database; Lifeboat's own restore comes later",
      },
    };
    await writeFile(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
    console.log(JSON.stringify(results, null, 2));
  } finally {
    psql("postgres", `drop database if exists ${SOURCE} with (force)`);
    psql("postgres", `drop database if exists ${TARGET} with (force)`);
    await handle.close();
    await rm(root, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
