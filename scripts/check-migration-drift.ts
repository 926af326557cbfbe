/**
 * `npm run db:check` (run by npm test): fails when lib/db/schema.ts and the committed migrations in drizzle/ are
 * out of step, i.e. when `drizzle-kit generate` would write a new migration. A schema change without its migration
 * works in tests that build tables from the schema, then breaks every real database at the next start.
 *
 * drizzle-kit generates into a temporary copy of the migrations folder: the repository is never written to.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import drizzleConfig from "../drizzle.config";

export interface DriftCheck {
  /** The project folder drizzle-kit runs in (its node_modules and the paths below are relative to it). */
  cwd: string;
  dialect: string;
  /** The schema file, relative to cwd or absolute. */
  schema: string;
  /** The committed migrations folder, relative to cwd or absolute. */
  out: string;
}

export type DriftResult = { inStep: true } | { inStep: false; files: { name: string; text: string }[] };

/** Every file under a folder, by relative path, with its content. */
function readTree(root: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of fs.readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    files.set(path.relative(root, full).split(path.sep).join("/"), fs.readFileSync(full, "utf8"));
  }
  return files;
}

function runDrizzleKit(cwd: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(path.join(cwd, "node_modules", ".bin", "drizzle-kit"), args, { cwd, timeout: 120_000 }, (error, stdout, stderr) => {
      if (error) {
        // A timeout is drizzle-kit waiting for an answer: it asks whether a column was renamed, which is drift too.
        const why = error.killed ? "did not finish (it may be asking whether something was renamed: run npm run db:generate)" : `failed (${error.message})`;
        reject(new Error(`drizzle-kit generate ${why}\n${stdout}${stderr}`));
        return;
      }
      resolve({ stdout, stderr });
    });
    child.stdin?.end();
  });
}

/** What `drizzle-kit generate` would add to or change in the migrations folder; nothing when schema and migrations agree. */
export async function checkMigrationDrift(check: DriftCheck): Promise<DriftResult> {
  const committed = path.resolve(check.cwd, check.out);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "lifeboat-migration-drift-"));
  try {
    const copy = path.join(scratch, "drizzle");
    fs.cpSync(committed, copy, { recursive: true });
    // drizzle-kit puts "./" before the paths it is given, so they must be relative to its folder.
    const relative = (target: string) => path.relative(check.cwd, path.resolve(check.cwd, target));
    const { stdout, stderr } = await runDrizzleKit(check.cwd, [
      "generate",
      "--dialect",
      check.dialect,
      "--schema",
      relative(check.schema),
      "--out",
      relative(copy),
    ]);

    const before = readTree(committed);
    const after = readTree(copy);
    const files = [...after].filter(([name, text]) => before.get(name) !== text).map(([name, text]) => ({ name, text }));
    if (files.length > 0) return { inStep: false, files };
    // drizzle-kit reports some failures on stderr and still exits 0: only its own words count as "in step".
    if (!/No schema changes/.test(stdout)) throw new Error(`drizzle-kit generate wrote nothing, but did not say the schema is unchanged:\n${stdout}${stderr}`);
    return { inStep: true };
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  const cwd = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  const schema = drizzleConfig.schema;
  if (typeof schema !== "string" || !drizzleConfig.out) throw new Error("drizzle.config.ts must name one schema file and an out folder");
  const result = await checkMigrationDrift({ cwd, dialect: drizzleConfig.dialect, schema, out: drizzleConfig.out });
  if (result.inStep) {
    console.log(`Migrations are in step with ${schema}.`);
    return 0;
  }
  console.error(`${schema} and ${drizzleConfig.out} are out of step: drizzle-kit generate would write`);
  for (const file of result.files) console.error(`\n--- ${file.name}\n${file.name.endsWith(".sql") ? file.text : "(drizzle-kit's snapshot)"}`);
  console.error("\nRun npm run db:generate and commit the migration it writes.");
  return 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
