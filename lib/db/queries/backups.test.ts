import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { generateBackupId } from "@/lib/backups/backup-id";

import type { DbHandle } from "../client";
import { backups } from "../schema";
import type { NewBackup } from "../schema";
import { seedDemoProject } from "../seed";
import { createTestDatabase, DATABASE_KINDS } from "../testing";
import { countBackups, decodeBackupCursor, encodeBackupCursor, getBackup, listBackups } from "./backups";
import { getEnvironment } from "./projects";

describe.each(DATABASE_KINDS)("backup listing on %s", (kind) => {
  let handle: DbHandle;
  let environmentId: string;
  const base = Date.UTC(2026, 0, 1);

  function backupAt(minutes: number, extra: Partial<NewBackup> = {}): NewBackup {
    const createdAt = new Date(base + minutes * 60_000);
    return { id: generateBackupId("acme", createdAt), environmentId, origin: "manual", status: "completed", createdBy: "test", createdAt, ...extra };
  }

  beforeAll(async () => {
    handle = await createTestDatabase(kind);
    await seedDemoProject(handle.db);
    environmentId = (await getEnvironment(handle.db, { projectId: "acme", name: "prd" }))!.id;
    // 53 backups; every 10th shares its timestamp with the previous one, so
    // the id tie-breaker is exercised too.
    const rows = Array.from({ length: 53 }, (_, i) =>
      backupAt(i % 10 === 0 && i > 0 ? i - 1 : i, {
        origin: i % 3 === 0 ? "scheduled" : "manual",
        status: i % 7 === 0 ? "failed" : "completed",
      }),
    );
    await handle.db.insert(backups).values(rows);
  });

  afterAll(async () => {
    await handle?.close();
  });

  async function walk(limit: number, filters: { status?: "failed"; origin?: "scheduled" } = {}) {
    const seen: string[] = [];
    let cursor;
    for (let pages = 0; pages < 100; pages++) {
      const page = await listBackups(handle.db, { environmentId, limit, cursor, ...filters });
      seen.push(...page.items.map((b) => b.id));
      if (!page.nextCursor) break;
      cursor = decodeBackupCursor(encodeBackupCursor(page.nextCursor))!;
    }
    return seen;
  }

  it("pages newest first through every backup exactly once", async () => {
    const ids = await walk(10);
    expect(ids).toHaveLength(53);
    expect(new Set(ids).size).toBe(53);
    const all = await handle.db.select().from(backups);
    const expected = all.toSorted((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (b.id < a.id ? -1 : b.id > a.id ? 1 : 0)).map((b) => b.id);
    expect(ids).toEqual(expected);
  });

  it("stays stable while new backups arrive between pages", async () => {
    const first = await listBackups(handle.db, { environmentId, limit: 20 });
    // Newer backups created while the person looks at page one.
    await handle.db.insert(backups).values([backupAt(10_000), backupAt(10_001)]);
    const rest: string[] = [];
    let cursor = first.nextCursor ?? undefined;
    while (cursor) {
      const page = await listBackups(handle.db, { environmentId, limit: 20, cursor });
      rest.push(...page.items.map((b) => b.id));
      cursor = page.nextCursor ?? undefined;
    }
    const ids = [...first.items.map((b) => b.id), ...rest];
    expect(ids).toHaveLength(53);
    expect(new Set(ids).size).toBe(53);
  });

  it("filters by status and origin", async () => {
    const failed = await walk(4, { status: "failed" });
    expect(failed).toHaveLength(8); // i = 0, 7, …, 49
    const scheduled = await walk(50, { origin: "scheduled" });
    expect(scheduled).toHaveLength(18); // i = 0, 3, …, 51
  });

  it("gets one backup with its environment, and nothing for an unknown id", async () => {
    const [latest] = (await listBackups(handle.db, { environmentId, limit: 1 })).items;
    const backup = await getBackup(handle.db, { id: latest!.id });
    expect(backup?.environment.name).toBe("prd");
    expect(backup?.files).toEqual([]);
    expect(await getBackup(handle.db, { id: "acme-nosuchbackupxx-202601010000" })).toBeUndefined();
  });

  it("counts for page numbers, pages by offset, filters by db_type, and places a cursor", async () => {
    const total = (await handle.db.select().from(backups)).length;
    expect(await countBackups(handle.db, { environmentId })).toBe(total);
    expect(await countBackups(handle.db, { environmentId, status: "failed" })).toBe(8);

    const everything = await walk(100);
    const third = await listBackups(handle.db, { environmentId, limit: 10, offset: 20 });
    expect(third.items.map((b) => b.id)).toEqual(everything.slice(20, 30));
    expect(third.nextCursor?.id).toBe(everything[29]);
    // Where that cursor starts: after 30 backups, so on page 4 of 10.
    expect(await countBackups(handle.db, { environmentId, through: third.nextCursor! })).toBe(30);

    await handle.db.insert(backups).values([backupAt(20_000, { dbEngine: "mysql" }), backupAt(20_001, { dbEngine: "postgresql" })]);
    const mysql = await listBackups(handle.db, { environmentId, limit: 10, dbType: "mysql" });
    expect(mysql.items.map((b) => b.dbEngine)).toEqual(["mysql"]);
    expect(await countBackups(handle.db, { environmentId, dbType: "postgresql" })).toBe(1);
  });

  it("rejects a forged cursor", () => {
    expect(decodeBackupCursor("not-a-cursor")).toBeNull();
    expect(decodeBackupCursor(Buffer.from("yesterday|x").toString("base64url"))).toBeNull();
  });
});
