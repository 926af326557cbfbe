/**
 * A small seeded generator (mulberry32). The demo data must be reproducible
 * from a backup's ID, so a rebuilt dump or archive matches what was stored;
 * `Math.random` cannot be seeded and `crypto` is not reproducible.
 */
export interface Random {
  /** In [0, 1). */
  next(): number;
  /** An integer in [min, max], both inclusive. */
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  bytes(length: number): Buffer;
  /** Lower-case hex, like the random part of a Liferay uuid_ or an index name. */
  hex(length: number): string;
}

function hashSeed(seed: string): number {
  // FNV-1a: spreads similar seeds (IDs differing in one letter) far apart.
  let hash = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) {
    hash ^= seed.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export function createRandom(seed: string): Random {
  let state = hashSeed(seed);
  const next = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  return {
    next,
    int,
    pick<T>(items: readonly T[]): T {
      const item = items[int(0, items.length - 1)];
      if (item === undefined) throw new Error("cannot pick from an empty list");
      return item;
    },
    bytes(length: number): Buffer {
      const buffer = Buffer.alloc(length);
      for (let i = 0; i < length; i++) buffer[i] = int(0, 255);
      return buffer;
    },
    hex(length: number): string {
      let out = "";
      for (let i = 0; i < length; i++) out += int(0, 15).toString(16);
      return out;
    },
  };
}
