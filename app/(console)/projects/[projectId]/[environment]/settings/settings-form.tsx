"use client";

import { useRouter } from "next/navigation";
import { useId, useState } from "react";
import type { FormEvent, ReactNode } from "react";

import { Button } from "@/components/ui/button";
import { ApiError, fetchJson } from "@/lib/api/client";
import type { RetentionSettings } from "@/lib/backups/retention/explain";
import type { EnvironmentSettingsJson } from "@/lib/environments/settings";
import { formatDateTime } from "@/lib/format";

import { RetentionPreviewPanel } from "./retention-preview";

function Field({ label, hint, children }: { label: string; hint?: string; children: (id: string, hintId?: string) => ReactNode }) {
  const id = useId();
  const hintId = hint ? `${id}-hint` : undefined;
  return (
    <div className="grid gap-1 sm:grid-cols-3 sm:items-start sm:gap-4">
      <label htmlFor={id} className="pt-2 text-sm font-medium text-slate-700">
        {label}
      </label>
      <div className="sm:col-span-2">
        {children(id, hintId)}
        {hint && (
          <p id={hintId} className="mt-1 text-xs text-slate-500">
            {hint}
          </p>
        )}
      </div>
    </div>
  );
}

const INPUT = "w-full rounded-md border border-slate-300 px-3 py-2 text-sm";

const list = (value: FormDataEntryValue | null) =>
  String(value ?? "")
    .split(/[\s,]+/)
    .filter(Boolean);
const text = (value: FormDataEntryValue | null) => String(value ?? "").trim() || null;
const int = (value: FormDataEntryValue | null) => (String(value ?? "").trim() ? Number(value) : null);

/** The retention rules, each a number input of the form named as the setting. */
const RETENTION_FIELDS = [
  "retentionKeepCount",
  "retentionDays",
  "retentionKeepLast",
  "retentionKeepHourly",
  "retentionKeepDaily",
  "retentionKeepWeekly",
  "retentionKeepMonthly",
  "retentionKeepYearly",
] as const satisfies readonly (keyof RetentionSettings)[];

/** The tiers: label, what one period is, and the setting. */
const TIERS = [
  ["Keep hourly", "hours", "retentionKeepHourly"],
  ["Keep daily", "days", "retentionKeepDaily"],
  ["Keep weekly", "ISO weeks (Monday to Sunday)", "retentionKeepWeekly"],
  ["Keep monthly", "months", "retentionKeepMonthly"],
  ["Keep yearly", "years", "retentionKeepYearly"],
] as const;

function retentionOf(form: HTMLFormElement | FormData): RetentionSettings {
  const data = form instanceof FormData ? form : new FormData(form);
  return Object.fromEntries(RETENTION_FIELDS.map((field) => [field, int(data.get(field))])) as RetentionSettings;
}

/**
 * The environment's settings: the sources (database connection, volume
 * folder) for operators, the backup policy (schedule, retention, what to
 * leave out) for its administrators. Each sees and sends only their part.
 */
export function SettingsForm({ settings, volumeRoots }: { settings: EnvironmentSettingsJson; volumeRoots: readonly string[] }) {
  const router = useRouter();
  const [state, setState] = useState<{ kind: "idle" | "saving" } | { kind: "saved"; deleted: number } | { kind: "error"; message: string }>({ kind: "idle" });
  // The retention rules as they stand in the form, for the preview of what saving them deletes.
  const [proposal, setProposal] = useState<RetentionSettings>(() => Object.fromEntries(RETENTION_FIELDS.map((field) => [field, settings[field]])));

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const password = String(form.get("dbPassword") ?? "");
    const sources = settings.canChangeSources
      ? {
          dbEngine: text(form.get("dbEngine")),
          dbHost: text(form.get("dbHost")),
          dbPort: int(form.get("dbPort")),
          dbName: text(form.get("dbName")),
          dbUser: text(form.get("dbUser")),
          ...(password ? { dbPassword: password } : {}),
          volumePath: text(form.get("volumePath")),
        }
      : {};
    const policy = settings.canChangePolicy
      ? {
          scheduleCron: text(form.get("scheduleCron")),
          ...retentionOf(form),
          excludedTables: list(form.get("excludedTables")),
          databasesToIgnore: list(form.get("databasesToIgnore")),
        }
      : {};
    const body = { ...sources, ...policy };
    setState({ kind: "saving" });
    try {
      const saved = await fetchJson<{ retention: { deleted: string[] } | null }>(`/api/v1/projects/${settings.project}/environments/${settings.environment}`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      setState({ kind: "saved", deleted: saved.retention?.deleted.length ?? 0 });
      router.refresh();
    } catch (error) {
      setState({ kind: "error", message: error instanceof ApiError ? error.message : "The settings could not be saved." });
    }
  }

  return (
    <form
      onSubmit={(e) => void submit(e)}
      onInput={(e) => {
        if (settings.canChangePolicy) setProposal(retentionOf(e.currentTarget));
      }}
      className="space-y-4 rounded-lg border border-slate-200 bg-white p-5"
      aria-label="Environment settings"
    >
      {settings.sourcesVisible ? (
        <fieldset className="space-y-4">
          <legend className="mb-2 text-base font-semibold">Sources</legend>
          <p className="text-sm text-slate-600">
            What Lifeboat&apos;s tools read and replace, with the server&apos;s privileges: set by operators. The volume folder must lie inside the volume roots
            (VOLUME_ROOTS).
          </p>
          <Field label="Database engine">
            {(id) => (
              <select id={id} name="dbEngine" defaultValue={settings.dbEngine ?? ""} className={INPUT}>
                <option value="">None</option>
                <option value="postgresql">PostgreSQL</option>
                <option value="mysql">MySQL / MariaDB</option>
              </select>
            )}
          </Field>
          <Field label="Host">{(id) => <input id={id} name="dbHost" defaultValue={settings.dbHost ?? ""} className={INPUT} />}</Field>
          <Field label="Port">
            {(id) => <input id={id} name="dbPort" type="number" min={1} max={65535} defaultValue={settings.dbPort ?? ""} className={INPUT} />}
          </Field>
          <Field label="Database name" hint="For MySQL / MariaDB, * backs up every database on the server except the system ones and the databases to ignore.">
            {(id, hintId) => <input id={id} name="dbName" defaultValue={settings.dbName ?? ""} aria-describedby={hintId} className={INPUT} />}
          </Field>
          <Field label="User">{(id) => <input id={id} name="dbUser" defaultValue={settings.dbUser ?? ""} autoComplete="off" className={INPUT} />}</Field>
          <Field
            label="Password"
            hint={settings.hasPassword ? "A password is stored (encrypted). Leave empty to keep it." : "Stored encrypted; never shown again."}
          >
            {(id, hintId) => (
              <input
                id={id}
                name="dbPassword"
                type="password"
                autoComplete="new-password"
                aria-describedby={hintId}
                placeholder={settings.hasPassword ? "••••••••" : ""}
                className={INPUT}
              />
            )}
          </Field>
          <Field
            label="Volume folder"
            hint={
              volumeRoots.length > 0
                ? `Absolute path of the document library on the Lifeboat server, inside one of the volume roots: ${volumeRoots.join(", ")}.`
                : "No volume folder can be set: this server has no volume roots (VOLUME_ROOTS)."
            }
          >
            {(id, hintId) => <input id={id} name="volumePath" defaultValue={settings.volumePath ?? ""} aria-describedby={hintId} className={INPUT} />}
          </Field>
        </fieldset>
      ) : (
        <section aria-labelledby={`${settings.environment}-sources`} className="space-y-2">
          <h3 id={`${settings.environment}-sources`} className="text-base font-semibold">
            Sources
          </h3>
          <p className="text-sm text-slate-600">
            The database connection and the volume folder are set by Lifeboat&apos;s operators: they decide what Lifeboat&apos;s tools may read and replace on
            this server. Database:{" "}
            {settings.sourceConfigured.database ? `configured (${settings.dbEngine === "mysql" ? "MySQL / MariaDB" : "PostgreSQL"})` : "not configured"}. Volume
            folder: {settings.sourceConfigured.volume ? "configured" : "not configured"}.
          </p>
        </section>
      )}
      <fieldset className="space-y-4" disabled={!settings.canChangePolicy}>
        <legend className="mb-2 text-base font-semibold">Schedule and retention</legend>
        {!settings.canChangePolicy && <p className="text-sm text-slate-600">Set by the environment&apos;s administrators.</p>}
        <Field
          label="Schedule (cron, UTC)"
          hint={settings.nextScheduledRun ? `Next run: ${formatDateTime(settings.nextScheduledRun, "UTC")}` : "Empty: no scheduled backups."}
        >
          {(id, hintId) => <input id={id} name="scheduleCron" defaultValue={settings.scheduleCron ?? ""} aria-describedby={hintId} className={INPUT} />}
        </Field>
        <p className="text-sm text-slate-600">
          A backup is kept when any rule below keeps it; pinned backups and the newest completed backup always are. With no rule at all nothing is deleted.
          Empty: the rule is off.
        </p>
        <Field label="Keep count" hint="The newest N completed backups. With keep days, only those that are also within the days.">
          {(id, hintId) => (
            <input
              id={id}
              name="retentionKeepCount"
              type="number"
              min={1}
              defaultValue={settings.retentionKeepCount ?? ""}
              aria-describedby={hintId}
              className={INPUT}
            />
          )}
        </Field>
        <Field label="Keep days" hint="Backups made in the last N days (failed ones go after N days whatever the other rules say).">
          {(id, hintId) => (
            <input id={id} name="retentionDays" type="number" min={1} defaultValue={settings.retentionDays ?? ""} aria-describedby={hintId} className={INPUT} />
          )}
        </Field>
        <Field label="Keep last" hint="The N newest completed backups, whatever their age.">
          {(id, hintId) => (
            <input
              id={id}
              name="retentionKeepLast"
              type="number"
              min={1}
              defaultValue={settings.retentionKeepLast ?? ""}
              aria-describedby={hintId}
              className={INPUT}
            />
          )}
        </Field>
        {TIERS.map(([label, periods, field]) => (
          <Field key={field} label={label} hint={`The newest backup of each of the last N ${periods} that have one (UTC).`}>
            {(id, hintId) => (
              <input id={id} name={field} type="number" min={1} defaultValue={settings[field] ?? ""} aria-describedby={hintId} className={INPUT} />
            )}
          </Field>
        ))}
        {settings.canChangePolicy && <RetentionPreviewPanel project={settings.project} environment={settings.environment} proposal={proposal} />}
        <Field label="Excluded tables" hint="Separated by commas or spaces.">
          {(id, hintId) => (
            <input id={id} name="excludedTables" defaultValue={settings.excludedTables.join(", ")} aria-describedby={hintId} className={INPUT} />
          )}
        </Field>
        <Field label="Databases to ignore" hint="Separated by commas or spaces. Used with database name * on MySQL / MariaDB (LCP_DUMP_DATABASES_TO_IGNORE).">
          {(id, hintId) => (
            <input id={id} name="databasesToIgnore" defaultValue={settings.databasesToIgnore.join(", ")} aria-describedby={hintId} className={INPUT} />
          )}
        </Field>
      </fieldset>
      <div className="flex items-center gap-4">
        <Button type="submit" disabled={state.kind === "saving"} aria-busy={state.kind === "saving"}>
          {state.kind === "saving" ? "Saving…" : "Save settings"}
        </Button>
        <span role="status" className="text-sm text-green-700">
          {state.kind === "saved" &&
            (state.deleted === 0
              ? "Settings saved."
              : `Settings saved. The new retention rules deleted ${state.deleted === 1 ? "1 backup" : `${state.deleted} backups`}.`)}
        </span>
      </div>
      {state.kind === "error" && (
        <p role="alert" className="rounded-md bg-red-50 p-3 text-sm text-red-800">
          {state.message}
        </p>
      )}
    </form>
  );
}
