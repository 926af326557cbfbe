import type { EnvironmentReadiness } from "@/lib/environments/readiness";

/**
 * The Settings page's account of whether Create backup and Restore… can run
 * in this environment now: every check, each problem in one line with its fix.
 */
export function ReadinessPanel({ readiness, demo }: { readiness: EnvironmentReadiness; demo?: string }) {
  return (
    <section aria-labelledby="readiness-heading" className="rounded-md border border-slate-200 bg-white p-4">
      <h3 id="readiness-heading" className="text-base font-semibold">
        Ready to back up and restore?
      </h3>
      {readiness.ready ? (
        <p role="status" className="mt-2 text-sm text-green-800">
          Ready: Create backup and Restore… can run now.
        </p>
      ) : (
        <p role="status" className="mt-2 text-sm font-medium text-red-800">
          Not ready: {readiness.problem}
        </p>
      )}
      <ul aria-label="Readiness checks" className="mt-3 space-y-1 text-sm">
        {readiness.checks.map((check) => (
          <li key={check.name} className={check.ok ? "text-slate-700" : "text-red-800"}>
            <span aria-hidden="true" className="mr-2 inline-block w-4">
              {check.ok ? "✓" : "✗"}
            </span>
            <span className="sr-only">{check.ok ? "OK: " : "Problem: "}</span>
            {check.text}
          </li>
        ))}
      </ul>
      {demo && <p className="mt-3 rounded-md bg-amber-50 p-2 text-sm text-amber-900">{demo}</p>}
    </section>
  );
}

/** Beside Create backup: nothing when it can run, else the one line that says what is missing and the fix. */
export function ReadinessNotice({ readiness }: { readiness: EnvironmentReadiness }) {
  if (readiness.ready) return null;
  return (
    <p role="note" aria-label="Before you create a backup" className="max-w-md rounded-md bg-amber-50 p-2 text-sm text-amber-900">
      {readiness.problem}
    </p>
  );
}
