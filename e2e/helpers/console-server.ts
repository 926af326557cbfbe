import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";

import { E2E_DEMO_PREFIX } from "./demo-databases";

/**
 * A console of the test's own — started, stopped and started again by the
 * test — for what the shared web server cannot do, such as a restart.
 */
export class ConsoleServer {
  private child: ChildProcess | null = null;
  readonly url: string;

  constructor(
    private readonly port: number,
    private readonly dataDir: string,
    private readonly extraEnv: Record<string, string> = {},
  ) {
    this.url = `http://localhost:${port}`;
  }

  async start(): Promise<void> {
    const child = spawn(process.execPath, ["--import", "tsx", "server.ts"], {
      env: {
        ...process.env,
        PORT: String(this.port),
        LIFEBOAT_URL: this.url,
        DATA_DIR: this.dataDir,
        DEV_OIDC_PORT: String(this.port + 1),
        // Its own demo databases, dropped with the run's (e2e/global-teardown.ts).
        DEMO_DATABASE_PREFIX: `${E2E_DEMO_PREFIX}_${this.port}`,
        LOG_LEVEL: "warn",
        ...this.extraEnv,
      },
      stdio: ["ignore", "inherit", "inherit"],
    });
    this.child = child;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`the console exited with ${child.exitCode} while starting`);
      try {
        if ((await fetch(`${this.url}/api/health`)).ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error("the console did not become healthy within 60 s");
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }

  async destroy(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}
