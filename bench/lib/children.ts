import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";

const OUTPUT_LINES_KEPT = 40;
const STOP_GRACE_MS = 10_000;

export interface Child {
  name: string;
  pid: number;
  /** The last lines the child printed, to explain a failure. */
  output(): string;
  exited(): boolean;
  stop(): Promise<void>;
}

const running = new Set<Child>();

function waitForExit(proc: ChildProcess, ms: number): Promise<boolean> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    proc.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Starts a child whose output is kept (not shown) and which stopAllChildren() will end. */
export function startChild(name: string, command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Child {
  const proc = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"] });
  if (proc.pid === undefined) throw new Error(`could not start ${name}`);
  const lines: string[] = [];
  const keep = (data: Buffer) => {
    lines.push(...data.toString("utf8").split("\n").filter(Boolean));
    lines.splice(0, Math.max(0, lines.length - OUTPUT_LINES_KEPT));
  };
  proc.stdout?.on("data", keep);
  proc.stderr?.on("data", keep);

  const child: Child = {
    name,
    pid: proc.pid,
    output: () => lines.join("\n"),
    exited: () => proc.exitCode !== null || proc.signalCode !== null,
    async stop() {
      running.delete(child);
      if (child.exited()) return;
      proc.kill("SIGTERM");
      if (await waitForExit(proc, STOP_GRACE_MS)) return;
      proc.kill("SIGKILL");
      await waitForExit(proc, STOP_GRACE_MS);
    },
  };
  running.add(child);
  proc.once("exit", () => running.delete(child));
  return child;
}

export async function stopAllChildren(): Promise<void> {
  await Promise.allSettled([...running].map((child) => child.stop()));
}

/**
 * Runs `cleanup` once on Ctrl-C or SIGTERM, then exits: a benchmark must not
 * leave servers or gigabytes of temp files behind.
 */
export function onInterrupt(cleanup: () => Promise<void>): void {
  let started = false;
  const handler = (signal: NodeJS.Signals) => {
    if (started) return;
    started = true;
    console.error(`\n${signal}: stopping the servers and removing temp files…`);
    void cleanup().finally(() => process.exit(130));
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
}
