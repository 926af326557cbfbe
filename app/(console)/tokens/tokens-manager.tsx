"use client";

import { useId, useState } from "react";
import type { FormEvent } from "react";

import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { ConfirmFooter, Dialog, DialogContent } from "@/components/ui/dialog";
import { useCreateTokenMutation, useRevokeTokenMutation, useTokensQuery } from "@/components/hooks/use-tokens-query";
import { formatDateTime } from "@/lib/format";
import type { TokenView } from "@/lib/tokens/view";

interface EnvironmentOption {
  project: string;
  name: string;
  isProduction: boolean;
}

const EXPIRY_CHOICES = [
  { value: "7", label: "7 days" },
  { value: "30", label: "30 days" },
  { value: "90", label: "90 days" },
  { value: "365", label: "1 year" },
  { value: "never", label: "Never" },
] as const;

export function TokensManager({ environments }: { environments: EnvironmentOption[] }) {
  const [revealed, setRevealed] = useState<{ name: string; token: string } | null>(null);
  return (
    <>
      <CreateTokenForm environments={environments} onCreated={setRevealed} />
      {revealed && <RevealedToken {...revealed} onDone={() => setRevealed(null)} />}
      <TokenList />
    </>
  );
}

function CreateTokenForm({ environments, onCreated }: { environments: EnvironmentOption[]; onCreated: (t: { name: string; token: string }) => void }) {
  const ids = { name: useId(), expiry: useId(), scope: useId(), error: useId() };
  const [name, setName] = useState("");
  const [expiry, setExpiry] = useState<string>("90");
  const [scope, setScope] = useState("");
  const [fieldError, setFieldError] = useState<string | null>(null);
  const create = useCreateTokenMutation();

  function submit(event: FormEvent) {
    event.preventDefault();
    if (name.trim().length === 0) {
      setFieldError("Give the token a name, so you can tell it apart later.");
      return;
    }
    setFieldError(null);
    const [project, environment] = scope ? scope.split("/") : [];
    create.mutate(
      {
        name: name.trim(),
        expiresInDays: expiry === "never" ? null : Number(expiry),
        scope: project && environment ? { project, environment } : null,
      },
      {
        onSuccess: (result) => {
          onCreated({ name: result.response.name, token: result.token });
          setName("");
        },
      },
    );
  }

  const error = fieldError ?? (create.error ? create.error.message : null);
  return (
    <section aria-labelledby={`${ids.name}-heading`} className="rounded-lg border border-slate-200 bg-white p-5">
      <h2 id={`${ids.name}-heading`} className="text-lg font-semibold">
        Create a token
      </h2>
      <form onSubmit={submit} className="mt-4 grid gap-4 sm:grid-cols-[2fr_1fr_1fr_auto] sm:items-end" noValidate>
        <div className="flex flex-col gap-1">
          <label htmlFor={ids.name} className="text-sm font-medium">
            Name
          </label>
          <input
            id={ids.name}
            value={name}
            onChange={(e) => setName(e.target.value)}
            maxLength={100}
            placeholder="e.g. nightly CI"
            aria-invalid={fieldError ? true : undefined}
            aria-describedby={error ? ids.error : undefined}
            className="rounded-md border border-slate-300 px-3 py-2 text-sm"
          />
        </div>
        <div className="flex flex-col gap-1">
          <label htmlFor={ids.expiry} className="text-sm font-medium">
            Expires after
          </label>
          <select id={ids.expiry} value={expiry} onChange={(e) => setExpiry(e.target.value)} className="rounded-md border border-slate-300 px-3 py-2 text-sm">
            {EXPIRY_CHOICES.map((c) => (
              <option key={c.value} value={c.value}>
                {c.label}
              </option>
            ))}
          </select>
        </div>
        <div className="flex flex-col gap-1">
          <label htmlFor={ids.scope} className="text-sm font-medium">
            Environment
          </label>
          <select id={ids.scope} value={scope} onChange={(e) => setScope(e.target.value)} className="rounded-md border border-slate-300 px-3 py-2 text-sm">
            <option value="">All my environments</option>
            {environments.map((env) => (
              <option key={`${env.project}/${env.name}`} value={`${env.project}/${env.name}`}>
                {env.project}-{env.name}
                {env.isProduction ? " (production)" : ""}
              </option>
            ))}
          </select>
        </div>
        <Button type="submit" disabled={create.isPending}>
          {create.isPending ? "Creating…" : "Create token"}
        </Button>
      </form>
      {error && (
        <p id={ids.error} role="alert" className="mt-3 text-sm text-red-700">
          {error}
        </p>
      )}
    </section>
  );
}

function RevealedToken({ name, token, onDone }: { name: string; token: string; onDone: () => void }) {
  const inputId = useId();
  const [copied, setCopied] = useState<string>("");

  async function copy() {
    try {
      await navigator.clipboard.writeText(token);
      setCopied("Copied to the clipboard.");
    } catch {
      setCopied("This browser does not allow copying; select the token and copy it yourself.");
    }
  }

  return (
    <section aria-label="New token" className="rounded-lg border border-green-300 bg-green-50 p-5">
      <h2 className="text-lg font-semibold">Copy your new token now</h2>
      <p className="mt-1 text-sm text-slate-700">
        This is the only time <strong>{name}</strong> is shown. Lifeboat keeps only a fingerprint of it; if you lose it, revoke it and create another.
      </p>
      <div className="mt-3 flex flex-wrap items-center gap-2">
        <label htmlFor={inputId} className="sr-only">
          Token value
        </label>
        <input
          id={inputId}
          readOnly
          value={token}
          onFocus={(e) => e.currentTarget.select()}
          className="min-w-0 flex-1 rounded-md border border-slate-300 bg-white px-3 py-2 font-mono text-sm"
        />
        <Button variant="secondary" onClick={() => void copy()}>
          Copy
        </Button>
        <Button variant="ghost" onClick={onDone}>
          Done
        </Button>
      </div>
      <p role="status" className="mt-2 text-sm text-slate-600">
        {copied}
      </p>
    </section>
  );
}

function statusBadge(token: TokenView) {
  if (token.status === "revoked") return <Badge tone="danger">Revoked</Badge>;
  if (token.status === "expired") return <Badge>Expired</Badge>;
  return <Badge tone="success">Active</Badge>;
}

function TokenList() {
  const tokens = useTokensQuery();
  const [revoking, setRevoking] = useState<TokenView | null>(null);
  const revoke = useRevokeTokenMutation();

  return (
    <section aria-labelledby="your-tokens" className="space-y-3">
      <h2 id="your-tokens" className="text-lg font-semibold">
        Your tokens
      </h2>
      {tokens.isPending && <p className="text-sm text-slate-600">Loading your tokens…</p>}
      {tokens.error && (
        <p role="alert" className="text-sm text-red-700">
          Your tokens could not be loaded: {tokens.error.message}
        </p>
      )}
      {tokens.data && tokens.data.count === 0 && <p className="text-sm text-slate-600">You have no tokens yet.</p>}
      {tokens.data && tokens.data.count > 0 && (
        <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white">
          <table className="w-full text-left text-sm" aria-label="Your API tokens">
            <thead className="bg-slate-50 text-slate-600">
              <tr>
                <th scope="col" className="px-3 py-2 font-medium">
                  Name
                </th>
                <th scope="col" className="px-3 py-2 font-medium">
                  Token
                </th>
                <th scope="col" className="px-3 py-2 font-medium">
                  Environment
                </th>
                <th scope="col" className="px-3 py-2 font-medium">
                  Created
                </th>
                <th scope="col" className="px-3 py-2 font-medium">
                  Expires
                </th>
                <th scope="col" className="px-3 py-2 font-medium">
                  Last used
                </th>
                <th scope="col" className="px-3 py-2 font-medium">
                  Status
                </th>
                <th scope="col" className="px-3 py-2 font-medium">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {tokens.data.response.map((token) => (
                <tr key={token.id} className="border-t border-slate-100">
                  <th scope="row" className="px-3 py-2 font-medium">
                    {token.name}
                  </th>
                  <td className="px-3 py-2 font-mono text-slate-600">{token.prefix}…</td>
                  <td className="px-3 py-2">{token.scope ? `${token.scope.projectId}-${token.scope.environment}` : "All"}</td>
                  <td className="px-3 py-2">{formatDateTime(token.createdAt)}</td>
                  <td className="px-3 py-2">{token.expiresAt ? formatDateTime(token.expiresAt) : "Never"}</td>
                  <td className="px-3 py-2">{token.lastUsedAt ? formatDateTime(token.lastUsedAt) : "Never"}</td>
                  <td className="px-3 py-2">{statusBadge(token)}</td>
                  <td className="px-3 py-2 text-right">
                    {token.status !== "revoked" && (
                      <Button variant="secondary" aria-label={`Revoke ${token.name}`} onClick={() => setRevoking(token)}>
                        Revoke
                      </Button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <Dialog
        open={revoking !== null}
        onOpenChange={(open) => {
          if (!open) {
            setRevoking(null);
            revoke.reset();
          }
        }}
      >
        {revoking && (
          <DialogContent title={`Revoke ${revoking.name}?`} description="Scripts using it stop working at once. This cannot be undone.">
            <ConfirmFooter
              error={revoke.error?.message}
              action={
                <Button variant="danger" disabled={revoke.isPending} onClick={() => revoke.mutate(revoking.id, { onSuccess: () => setRevoking(null) })}>
                  {revoke.isPending ? "Revoking…" : "Revoke token"}
                </Button>
              }
            />
          </DialogContent>
        )}
      </Dialog>
    </section>
  );
}
