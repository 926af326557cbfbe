import { MultiBar, Presets } from "cli-progress";
import type { SingleBar } from "cli-progress";

import { formatBytes } from "./format";

/** Where text goes: process.stdout/stderr in the bin, buffers in tests. */
export interface OutputStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface ProgressBar {
  /** Absolute progress; may go down (a retried chunk's bytes are taken back). */
  update(value: number): void;
  add(delta: number): void;
  /** The total may be learned late (a backup's size once its dump is known). */
  setTotal(total: number): void;
  done(note?: string): void;
}

/** Progress for long transfers: bars on a terminal, a line every 10 % otherwise. Always on stderr. */
export interface Progress {
  bar(label: string, total: number, startAt?: number): ProgressBar;
  /** A line that does not tear the bars. */
  log(line: string): void;
  stop(): void;
}

/** `--no-progress`: only the log lines, which a script may still want on stderr. */
export function quietProgress(stream: OutputStream): Progress {
  return {
    bar: () => ({ update() {}, add() {}, setTotal() {}, done() {} }),
    log: (line) => void stream.write(`${line}\n`),
    stop() {},
  };
}

/** Plain lines for logs and CI: one when each 10 % step is crossed, one when done. */
export function lineProgress(stream: OutputStream): Progress {
  return {
    bar(label, total, startAt = 0) {
      let value = startAt;
      let size = total;
      let lastStep = -1;
      let finished = false;
      const report = () => {
        if (finished || size <= 0) return;
        const step = Math.min(10, Math.floor((value / size) * 10));
        if (step <= lastStep) return;
        lastStep = step;
        stream.write(`${label}: ${step * 10}% (${formatBytes(value)} of ${formatBytes(size)})\n`);
      };
      report();
      return {
        update(v) {
          value = v;
          report();
        },
        add(delta) {
          value += delta;
          report();
        },
        setTotal(t) {
          size = t;
          report();
        },
        done(note) {
          if (finished) return;
          finished = true;
          stream.write(`${label}: done${note ? ` (${note})` : ""}\n`);
        },
      };
    },
    log: (line) => void stream.write(`${line}\n`),
    stop() {},
  };
}

/** cli-progress bars, redrawn at most 10 times a second. */
export function barProgress(stream: OutputStream): Progress {
  const multi = new MultiBar(
    {
      stream: stream as NodeJS.WritableStream,
      format: " {label} |{bar}| {percentage}% | {done} of {size} | {speed}",
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      fps: 10,
      forceRedraw: false,
    },
    Presets.shades_classic,
  );
  const started = Date.now();
  return {
    bar(label, total, startAt = 0) {
      const payload = (value: number) => ({
        label: label.padEnd(24).slice(0, 24),
        done: formatBytes(value),
        size: formatBytes(total),
        speed: `${formatBytes(Math.max(0, value - startAt) / Math.max(0.001, (Date.now() - started) / 1000))}/s`,
      });
      const bar: SingleBar = multi.create(Math.max(total, 1), startAt, payload(startAt));
      let value = startAt;
      return {
        update(v) {
          value = v;
          bar.update(v, payload(v));
        },
        add(delta) {
          value += delta;
          bar.update(value, payload(value));
        },
        setTotal(t) {
          total = t;
          bar.setTotal(Math.max(t, 1));
          bar.update(value, payload(value));
        },
        done() {
          bar.update(total, payload(total));
        },
      };
    },
    log: (line) => multi.log(`${line}\n`),
    stop: () => multi.stop(),
  };
}
