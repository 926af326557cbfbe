/**
 * Backup benchmark: the backup engine against `pg_dump | gzip -6` on the same
 * PostgreSQL database in the same run; then Lifeboat's restore (staging
 * database, SHA-256 check, swap, and the volume) against `gunzip -c | psql`
 * of the same file into a fresh database, and `gunzip -c | psql` of the
 * gzip -6 file (so the faster-compressed file is seen to cost nothing at
 * restore time).
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
import { RESTORE_QUEUE, requestRestore, runRestore } from "@/lib/backups/restore";
import { resolveEnvironmentRoles } from "@/lib/db/queries/roles";
import { getBackup } from "@/lib/db/queries/backups";
import { environments, jobs, restores } from "@/lib/db/schema";
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
  return execFileSync("psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", PG.host, "-U", PG.user, "-d", database, "-c", query], {
    encoding: "utf8",
  }).trim();
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
    const actor = {
      kind: "user" as const,
      id: "bench",
      email: "bench@acme.test",
      name: null,
      groups,
      operator: false,
      roles: await resolveEnvironmentRoles(handle.db, { groups }),
    };
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
      const [job] = await handle.db
        .select()
        .from(jobs)
        .where(and(eq(jobs.queue, CREATE_BACKUP_QUEUE), eq(jobs.status, "queued")));
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
      console.log(
        `run ${run}: engine ${round(engine.at(-1)!)} s, pg_dump | gzip -6 ${round(baseline.at(-1)!)} s, pg_dump > /dev/null ${round(dumpOnly.at(-1)!)} s`,
      );
    }
    const shellSize = (await stat(shellFile)).size;
    await pipeline(await storage.getObject(backupObjectKey(lastBackupId, "database")), createWriteStream(engineFile));

    // uat is the restore target: an empty database and folder, like the shell restores get.
    const targetVolume = path.join(root, "uat_document_library");
    await mkdir(targetVolume, { recursive: true });
    await handle.db
      .update(environments)
      .set({ dbEngine: "postgresql", dbHost: PG.host, dbPort: PG.port, dbName: TARGET, dbUser: PG.user, volumePath: targetVolume })
      .where(eq(environments.name, "uat"));

    const restore = { lifeboat: [] as number[], lifeboatCleanup: [] as number[], engineFile: [] as number[], gzip6File: [] as number[] };
    for (let run = 1; run <= runs; run++) {
      resetTarget();
      const { restore: queued } = await requestRestore({ db: handle.db, actor, backupId: lastBackupId, input: { environment: "uat" } });
      const [restoreJob] = await handle.db
        .select()
        .from(jobs)
        .where(and(eq(jobs.queue, RESTORE_QUEUE), eq(jobs.status, "queued")));
      const started = Date.now();
      await runRestore(deps, { id: restoreJob!.id }, { restoreId: queued.id });
      const ended = Date.now();
      await handle.db.update(jobs).set({ status: "completed" }).where(eq(jobs.id, restoreJob!.id));
      const [finished] = await handle.db.select().from(restores).where(eq(restores.id, queued.id));
      if (finished?.status !== "completed") throw new Error(`Lifeboat restore ${finished?.status}: ${finished?.statusReason}`);
      // Completed = the environment runs on the restored data; dropping the previous copies follows in the same job.
      restore.lifeboat.push((finished.completedAt!.getTime() - started) / 1000);
      restore.lifeboatCleanup.push((ended - finished.completedAt!.getTime()) / 1000);
      if (psql(TARGET, "select count(*) from events") !== psql(SOURCE, "select count(*) from events")) throw new Error("Lifeboat's restore lost rows");
      resetTarget();
      restore.engineFile.push(shell(`gunzip -c ${engineFile} | psql -X -q -v ON_ERROR_STOP=1 -h ${PG.host} -U ${PG.user} -d ${TARGET} > /dev/null`));
      resetTarget();
      restore.gzip6File.push(shell(`gunzip -c ${shellFile} | psql -X -q -v ON_ERROR_STOP=1 -h ${PG.host} -U ${PG.user} -d ${TARGET} > /dev/null`));
      console.log(
        `restore ${run}: Lifeboat ${round(restore.lifeboat.at(-1)!)} s (+ ${round(restore.lifeboatCleanup.at(-1)!)} s dropping the previous copies), gunzip | psql of the same file ${round(restore.engineFile.at(-1)!)} s, of the gzip -6 file ${round(restore.gzip6File.at(-1)!)} s`,
      );
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
        lifeboatSeconds: { median: round(median(restore.lifeboat), 3), runs: restore.lifeboat.map((s) => round(s, 3)) },
        /** After "completed": dropping the previous database and folder, still under the environment lock. */
        lifeboatCleanupSeconds: { median: round(median(restore.lifeboatCleanup), 3), runs: restore.lifeboatCleanup.map((s) => round(s, 3)) },
        /** Lifeboat's restore (until completed) ÷ gunzip | psql of the same file: at most 1 is the aim. */
        lifeboatRatio: round(median(restore.lifeboat) / median(restore.engineFile), 2),
        engineFileSeconds: { median: round(median(restore.engineFile), 3), runs: restore.engineFile.map((s) => round(s, 3)) },
        gzip6FileSeconds: { median: round(median(restore.gzip6File), 3), runs: restore.gzip6File.map((s) => round(s, 3)) },
        ratio: round(median(restore.engineFile) / median(restore.gzip6File), 2),
        note: "Lifeboat's restore loads a staging database with SHA-256 and dump checks, swaps it in and restores the (small) volume; the shell restores load the file into an empty database",
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
