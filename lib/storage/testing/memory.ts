import v8 from "node:v8";
import vm from "node:vm";

let collectGarbage: (() => void) | undefined;

/** Without a forced GC, unreclaimed garbage would look like buffering; vitest does not start Node with --expose-gc. */
function gc(): void {
  if (!collectGarbage) {
    v8.setFlagsFromString("--expose-gc");
    collectGarbage = vm.runInNewContext("gc") as () => void;
  }
  collectGarbage();
}

export interface MemoryProbe {
  /** Collects garbage, then records how far live memory is above the baseline. */
  sample(): void;
  /** Calls sample() each time a byte counter crosses another `interval` bytes. */
  every(interval: number): (bytesSoFar: number) => void;
  readonly peakLiveGrowth: number;
  readonly peakRssGrowth: number;
}

export function createMemoryProbe(): MemoryProbe {
  gc();
  const base = process.memoryUsage();
  let peakLiveGrowth = 0;
  let peakRssGrowth = 0;

  const sample = (): void => {
    gc();
    const now = process.memoryUsage();
    peakLiveGrowth = Math.max(peakLiveGrowth, now.heapUsed + now.external - (base.heapUsed + base.external));
    peakRssGrowth = Math.max(peakRssGrowth, now.rss - base.rss);
  };

  return {
    sample,
    every(interval) {
      let next = interval;
      return (bytesSoFar) => {
        if (bytesSoFar < next) return;
        next = bytesSoFar + interval;
        sample();
      };
    },
    get peakLiveGrowth() {
      return peakLiveGrowth;
    },
    get peakRssGrowth() {
      return peakRssGrowth;
    },
  };
}
