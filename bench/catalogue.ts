/**
 * "A fast catalogue: thousands of backups page instantly." Fills one
 * environment with 100,000 backups on each database kind and times a page of
 * 25 at the top and near the bottom, with our keyset cursor and, as the
 * baseline measured in the same run, the OFFSET paging it replaces.
 *
 *   npx tsx bench/catalogue.ts            (BENCH_BACKUPS=100000 by default)
 */
import fs from "node:fs";
import { performance } from "node:perf_hooks";

import { desc, eq, sql } from "drizzle-orm";

import { generateBackupId } from "@/lib/backups/backup-id";
import type { DbHandle } from "@/lib/db/client";
import { listBackups } from "@/lib/db/queries/backups";
import { getEnvironment } from "@/lib/db/queries/projects";
import { backups } from "@/lib/db/schema";
import { seedDemoProject } from "@/lib/db/seed";
import { createTestDatabase, DATABASE_KINDS } from "@/lib/db/testing";

const TOTAL = Number(process.env.BENCH_BACKUPS ?? 100_000);
const PAGE = 25;
const RUNS = 30;

async function median(fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return Number(times[Math.floor(times.length / 2)]!.toFixed(2));
}

async function fill(handle: DbHandle, environmentId: string) {
  const start = Date.UTC(2020, 0, 1);
  for (let offset = 0; offset < TOTAL; offset += 5_000) {
    const rows = Array.from({ length: Math.min(5_000, TOTAL - offset) }, (_, i) => {
      const createdAt = new Date(start + (offset + i) * 60_000);
      return {
        id: generateBackupId("acme", createdAt),
        environmentId,
        origin: "scheduled" as const,
        status: "completed" as const,
        createdBy: "bench",
        createdAt,
      };
    });
    await handle.db.insert(backups).values(rows);
  }
}

async function measure(kind: (typeof DATABASE_KINDS)[number]) {
  const handle = await createTestDatabase(kind);
  try {
    await seedDemoProject(handle.db);
    const environmentId = (await getEnvironment(handle.db, { projectId: "acme", name: "prd" }))!.id;
    await fill(handle, environmentId);
    // As autovacuum would have by now on a live server: the planner needs statistics.
    await handle.db.execute(sql`analyze backups`);
    const depth = TOTAL - 100;
    const [anchor] = await handle.db
      .select({ createdAt: backups.createdAt, id: backups.id })
      .from(backups)
      .where(eq(backups.environmentId, environmentId))
      .orderBy(desc(backups.createdAt), desc(backups.id))
      .offset(depth - 1)
      .limit(1);
    const offsetPage = (offset: number) =>
      handle.db
        .select()
        .from(backups)
        .where(eq(backups.environmentId, environmentId))
        .orderBy(desc(backups.createdAt), desc(backups.id))
        .offset(offset)
        .limit(PAGE);

    const keysetFirst = await median(() => listBackups(handle.db, { environmentId, limit: PAGE }));
    const keysetDeep = await median(() => listBackups(handle.db, { environmentId, limit: PAGE, cursor: anchor! }));
    const offsetFirst = await median(() => offsetPage(0));
    const offsetDeep = await median(() => offsetPage(depth));
    return {
      kind,
      keysetFirstMs: keysetFirst,
      keysetDeepMs: keysetDeep,
      offsetFirstMs: offsetFirst,
      offsetDeepMs: offsetDeep,
      deepSpeedup: Number((offsetDeep / keysetDeep).toFixed(1)),
    };
  } finally {
    await handle.close();
  }
}

const results = [];
for (const kind of DATABASE_KINDS) {
  console.log(`${kind}: inserting ${TOTAL} backups …`);
  results.push(await measure(kind));
}
console.log(`\nmedian of ${RUNS} runs, page of ${PAGE}, ${TOTAL} backups in one environment (ms)`);
console.log("database   keyset p1  keyset deep  offset p1  offset deep  offset÷keyset (deep)");
for (const r of results) {
  console.log(
    `${r.kind.padEnd(10)} ${String(r.keysetFirstMs).padStart(9)} ${String(r.keysetDeepMs).padStart(12)} ${String(r.offsetFirstMs).padStart(10)} ${String(r.offsetDeepMs).padStart(12)} ${String(r.deepSpeedup).padStart(8)}×`,
  );
}
fs.mkdirSync("bench/results", { recursive: true });
fs.writeFileSync(
  "bench/results/catalogue.json",
  `${JSON.stringify({ benchmark: "catalogue", at: new Date().toISOString(), backups: TOTAL, pageSize: PAGE, runs: RUNS, results }, null, 2)}\n`,
);
