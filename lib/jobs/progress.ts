/**
 * Counts a job's bytes and writes the running total at most every
 * `intervalMs`, one write at a time; a write that fails or is skipped is made
 * up by the next one, so progress never costs the job more than a write a
 * second or so, and never blocks it.
 */
export function throttledProgress(intervalMs: number, write: (bytes: number) => Promise<unknown>, onError: (err: unknown) => void) {
  let bytes = 0;
  let lastWrite = 0;
  let writing = false;
  return {
    add(n: number) {
      bytes += n;
      const now = Date.now();
      if (writing || now - lastWrite < intervalMs) return;
      lastWrite = now;
      writing = true;
      write(bytes)
        .catch(onError)
        .finally(() => {
          writing = false;
        });
    },
    get bytes() {
      return bytes;
    },
  };
}
