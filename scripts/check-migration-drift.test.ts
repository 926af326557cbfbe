import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { afterAll, describe, expect, it } from "vitest";

import { checkMigrationDrift } from "./check-migration-drift";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The committed migrations folder, file by file, to prove the check never writes into it. */
function fingerprint(folder: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of fs.readdirSync(folder, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    out[path.relative(folder, full)] = createHash("sha256").update(fs.readFileSync(full)).digest("hex");
  }
  return out;
}

describe("the migration drift check", () => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "lifeboat-drift-test-"));
  afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));
  const committed = fingerprint(path.join(repo, "drizzle"));

  it("finds lib/db/schema.ts and drizzle/ in step", async () => {
    await expect(checkMigrationDrift({ cwd: repo, dialect: "postgresql", schema: "lib/db/schema.ts", out: "drizzle" })).resolves.toEqual({ inStep: true });
    expect(fingerprint(path.join(repo, "drizzle"))).toEqual(committed);
  });

  it("names the migration a schema change without one would need, and leaves drizzle/ as it was", async () => {
    // The schema with one more table, beside the project's packages so its imports resolve.
    fs.symlinkSync(path.join(repo, "node_modules"), path.join(scratch, "node_modules"));
    const schema = path.join(scratch, "schema.ts");
    fs.writeFileSync(
      schema,
      `${fs.readFileSync(path.join(repo, "lib/db/schema.ts"), "utf8")}\nexport const driftProbe = pgTable("drift_probe", { id: text("id").primaryKey() });\n`,
    );

    const result = await checkMigrationDrift({ cwd: repo, dialect: "postgresql", schema, out: "drizzle" });
    expect(result.inStep).toBe(false);
    const files = result.inStep ? [] : result.files;
    const migration = files.find((file) => file.name.endsWith(".sql"));
    expect(migration?.name).toMatch(/^\d{4}_[a-z_]+\.sql$/);
    expect(migration?.text).toContain('CREATE TABLE "drift_probe"');
    expect(files.map((file) => file.name)).toEqual(expect.arrayContaining(["meta/_journal.json"]));
    expect(fingerprint(path.join(repo, "drizzle"))).toEqual(committed);
  });
});
