import type { Adapter, AdapterPayload } from "oidc-provider";

// Models that die with their grant. Others carry a grantId too (an Interaction
// records the grant it started from) but must survive its revocation, e.g. the
// logout that happens mid-sign-in when switching demo users.
const GRANT_BOUND_MODELS = new Set(["AccessToken", "AuthorizationCode", "RefreshToken", "DeviceCode", "BackchannelAuthenticationRequest", "PreAuthorizedCode"]);

interface Entry {
  payload: AdapterPayload;
  /** Epoch milliseconds; undefined means it lives as long as the store. */
  expiresAt: number | undefined;
}

/**
 * Storage for one provider instance. oidc-provider ships a memory adapter too,
 * but it announces itself on every start, is not part of the public API, and
 * evicts by LRU size; a tiny store owned by the instance keeps the output quiet
 * and lets close() drop everything so a restarted app starts clean.
 */
export class MemoryStore {
  readonly #entries = new Map<string, Entry>();
  readonly #sessionUids = new Map<string, string>();
  readonly #userCodes = new Map<string, string>();
  readonly #grants = new Map<string, Set<string>>();

  adapterFor(model: string): Adapter {
    const key = (id: string): string => `${model}:${id}`;

    return {
      upsert: async (id, payload, expiresIn) => {
        this.#delete(key(id));
        const expiresAt = typeof expiresIn === "number" ? Date.now() + expiresIn * 1000 : undefined;
        this.#entries.set(key(id), { payload, expiresAt });

        if (model === "Session" && typeof payload.uid === "string") {
          this.#sessionUids.set(payload.uid, id);
        }
        if (typeof payload.userCode === "string") {
          this.#userCodes.set(payload.userCode, id);
        }
        if (GRANT_BOUND_MODELS.has(model) && typeof payload.grantId === "string") {
          const members = this.#grants.get(payload.grantId) ?? new Set<string>();
          members.add(key(id));
          this.#grants.set(payload.grantId, members);
        }
      },
      find: async (id) => this.#get(key(id)),
      findByUid: async (uid) => {
        const id = this.#sessionUids.get(uid);
        return id === undefined ? undefined : this.#get(key(id));
      },
      findByUserCode: async (userCode) => {
        const id = this.#userCodes.get(userCode);
        return id === undefined ? undefined : this.#get(key(id));
      },
      consume: async (id) => {
        const payload = this.#get(key(id));
        // oidc-provider detects authorization-code replay through this mark.
        if (payload) payload.consumed = Math.floor(Date.now() / 1000);
      },
      destroy: async (id) => {
        this.#delete(key(id));
      },
      revokeByGrantId: async (grantId) => {
        for (const member of this.#grants.get(grantId) ?? []) this.#delete(member);
        this.#grants.delete(grantId);
      },
    };
  }

  clear(): void {
    this.#entries.clear();
    this.#sessionUids.clear();
    this.#userCodes.clear();
    this.#grants.clear();
  }

  #get(storeKey: string): AdapterPayload | undefined {
    const entry = this.#entries.get(storeKey);
    if (!entry) return undefined;
    // Expiry is enforced lazily: a development provider holds a handful of
    // records, so a sweeper timer would only be one more thing to stop.
    if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      this.#delete(storeKey);
      return undefined;
    }
    return entry.payload;
  }

  #delete(storeKey: string): void {
    const entry = this.#entries.get(storeKey);
    if (!entry) return;
    this.#entries.delete(storeKey);
    const { uid, userCode, grantId } = entry.payload;
    const separator = storeKey.indexOf(":");
    const model = storeKey.slice(0, separator);
    const id = storeKey.slice(separator + 1);
    if (model === "Session" && typeof uid === "string" && this.#sessionUids.get(uid) === id) {
      this.#sessionUids.delete(uid);
    }
    if (typeof userCode === "string" && this.#userCodes.get(userCode) === id) this.#userCodes.delete(userCode);
    if (GRANT_BOUND_MODELS.has(model) && typeof grantId === "string") this.#grants.get(grantId)?.delete(storeKey);
  }
}
