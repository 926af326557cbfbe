import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { parseConcurrency } from "./commands";
import type { CliIo } from "./commands";
import { configDir, resolveConnection } from "./config";
import { chooseChunkSize, chunkRange, MAX_CHUNKS } from "./download";
import { CliError, EXIT, exitCodeForStatus } from "./errors";
import { formatTable, parseSize } from "./format";
import { main } from "./main";
import { NetworkError, withRetries } from "./http";
import { barProgress, lineProgress } from "./progress";

const MiB = 1024 * 1024;

function capture() {
  let text = "";
  return { stream: { write: (s: string) => (text += s) }, text: () => text };
}

describe("chunks", () => {
  it("uses 16 MiB chunks and grows them so no file needs more than 10,000", () => {
    expect(chooseChunkSize(1)).toBe(16 * MiB);
    expect(chooseChunkSize(100 * 1024 * MiB)).toBe(16 * MiB);
    const tib = 1024 * 1024 * MiB;
    expect(chooseChunkSize(tib)).toBe(105 * MiB);
    expect(Math.ceil(tib / chooseChunkSize(tib))).toBeLessThanOrEqual(MAX_CHUNKS);
  });

  it("ends the last chunk at the file's last byte", () => {
    expect(chunkRange(0, 10, 25)).toEqual({ start: 0, end: 9 });
    expect(chunkRange(2, 10, 25)).toEqual({ start: 20, end: 24 });
  });

  it("reads sizes with binary units", () => {
    expect(parseSize("8MiB")).toBe(8 * MiB);
    expect(parseSize("64k")).toBe(64 * 1024);
    expect(parseSize("1048576")).toBe(MiB);
    expect(parseSize("1.5M")).toBeNull();
    expect(parseSize("0")).toBeNull();
  });
});

describe("exit codes and flags", () => {
  it("maps HTTP statuses onto the documented exit codes", () => {
    expect([401, 403, 404, 409, 400, 422, 413, 429, 500, 503, 418].map(exitCodeForStatus)).toEqual([3, 3, 4, 5, 2, 2, 2, 8, 8, 8, 1]);
  });

  it("clamps --concurrency to 10,000 with a note and refuses less than 1", () => {
    const err = capture();
    const io = { stderr: err.stream, stdout: capture().stream, env: {}, cwd: "/" } as unknown as CliIo;
    expect(parseConcurrency(undefined, io)).toBe(4);
    expect(parseConcurrency("10000", io)).toBe(10_000);
    expect(err.text()).toBe("");
    expect(parseConcurrency("250000", io)).toBe(10_000);
    expect(err.text()).toBe("lifeboat: --concurrency 250000 is more than 10000; using 10000.\n");
    for (const bad of ["0", "-3", "2.5", "many"]) {
      expect(() => parseConcurrency(bad, io)).toThrow(expect.objectContaining({ exitCode: EXIT.usage }));
    }
  });

  it("answers --help and --version with 0, nothing or an unknown command with 2", async () => {
    const out = capture();
    const err = capture();
    expect(await main(["--version"], { stdout: out.stream, stderr: err.stream, env: {} })).toBe(0);
    expect(out.text()).toBe("0.1.0\n");
    expect(await main(["--help"], { stdout: out.stream, stderr: err.stream, env: {} })).toBe(0);
    expect(out.text()).toContain("6  verification failed");
    expect(await main([], { stdout: out.stream, stderr: err.stream, env: {} })).toBe(2);
    const unknown = capture();
    expect(await main(["frobnicate"], { stdout: out.stream, stderr: unknown.stream, env: {} })).toBe(2);
    expect(unknown.text()).toMatch(/^lifeboat: unknown command 'frobnicate'/);
  });
});

describe("configuration", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "lifeboat-config-"));
    await mkdir(path.join(dir, "cfg"));
    await writeFile(path.join(dir, "cfg", "config.json"), JSON.stringify({ url: "https://stored.example/", token: "lbt_stored" }));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("looks in LIFEBOAT_CONFIG_DIR, then XDG_CONFIG_HOME/lifeboat, then ~/.config/lifeboat", () => {
    expect(configDir({ LIFEBOAT_CONFIG_DIR: "/a", XDG_CONFIG_HOME: "/b", HOME: "/h" })).toBe("/a");
    expect(configDir({ XDG_CONFIG_HOME: "/b", HOME: "/h" })).toBe("/b/lifeboat");
    expect(configDir({ HOME: "/h" })).toBe("/h/.config/lifeboat");
  });

  it("takes the flag over the environment over the stored file", async () => {
    const base = { LIFEBOAT_CONFIG_DIR: path.join(dir, "cfg") };
    expect(await resolveConnection(base, {})).toEqual({ url: "https://stored.example", token: "lbt_stored" });
    expect(await resolveConnection({ ...base, LIFEBOAT_URL: "http://env.example", LIFEBOAT_TOKEN: "lbt_env" }, {})).toEqual({
      url: "http://env.example",
      token: "lbt_env",
    });
    expect(await resolveConnection({ ...base, LIFEBOAT_URL: "http://env.example" }, { url: "http://flag.example/" })).toMatchObject({
      url: "http://flag.example",
    });
  });

  it("says what is missing: no token is exit 3, no URL or a bad one exit 2", async () => {
    const empty = { LIFEBOAT_CONFIG_DIR: path.join(dir, "none") };
    await expect(resolveConnection({ ...empty, LIFEBOAT_URL: "http://x.example" }, {})).rejects.toMatchObject({ exitCode: EXIT.auth });
    await expect(resolveConnection({ ...empty, LIFEBOAT_TOKEN: "lbt_x" }, {})).rejects.toMatchObject({ exitCode: EXIT.usage });
    await expect(resolveConnection({ ...empty, LIFEBOAT_TOKEN: "lbt_x" }, { url: "ftp://x" })).rejects.toBeInstanceOf(CliError);
  });
});

describe("progress", () => {
  it("prints a plain line at each 10 % step crossed and one when done", () => {
    const out = capture();
    const bar = lineProgress(out.stream).bar("volume.tgz", 100 * MiB);
    bar.update(5 * MiB);
    bar.update(12 * MiB);
    bar.add(43 * MiB);
    bar.update(100 * MiB);
    bar.done("SHA-256 verified");
    expect(out.text()).toBe(
      [
        "volume.tgz: 0% (0 B of 100 MiB)",
        "volume.tgz: 10% (12 MiB of 100 MiB)",
        "volume.tgz: 50% (55 MiB of 100 MiB)",
        "volume.tgz: 100% (100 MiB of 100 MiB)",
        "volume.tgz: done (SHA-256 verified)",
        "",
      ].join("\n"),
    );
  });

  it("draws cli-progress bars on a terminal", () => {
    let drawn = "";
    const tty = Object.assign(
      new Writable({
        write(chunk, _encoding, callback) {
          drawn += String(chunk);
          callback();
        },
      }),
      { isTTY: true, columns: 120 },
    );
    const progress = barProgress(tty);
    const bar = progress.bar("database.gz", 10 * MiB);
    bar.update(5 * MiB);
    progress.stop();
    expect(drawn).toContain("database.gz");
    expect(drawn).toMatch(/50% \| 5\.0 MiB of 10 MiB/);
  });

  it("pads table columns", () => {
    expect(
      formatTable(
        ["ID", "STATUS"],
        [
          ["a-long-id", "completed"],
          ["b", "failed"],
        ],
      ),
    ).toBe("ID         STATUS\na-long-id  completed\nb          failed");
  });
});

describe("retries", () => {
  it("retries network trouble and 5xx, waits at least Retry-After, and gives up at once on other answers", async () => {
    const delays: number[] = [];
    const wait = async (ms: number) => void delays.push(ms);
    let calls = 0;
    const value = await withRetries(
      async () => {
        calls++;
        if (calls === 1) throw new NetworkError("reset");
        if (calls === 2) throw new CliError("busy", EXIT.network, 503, 50_000);
        return "ok";
      },
      { baseDelayMs: 1, wait },
    );
    expect(value).toBe("ok");
    expect(calls).toBe(3);
    expect(delays[0]).toBeLessThan(2); // backoff from 1 ms, with jitter
    expect(delays[1]).toBe(50_000); // Retry-After: 50 s beats a 2 ms backoff

    let refused = 0;
    await expect(
      withRetries(async () => {
        refused++;
        throw new CliError("no", EXIT.notFound, 404);
      }),
    ).rejects.toMatchObject({ exitCode: EXIT.notFound });
    expect(refused).toBe(1);

    let flaky = 0;
    await expect(
      withRetries(
        async () => {
          flaky++;
          throw new NetworkError("down");
        },
        { attempts: 3, baseDelayMs: 1, wait },
      ),
    ).rejects.toBeInstanceOf(NetworkError);
    expect(flaky).toBe(3);
  });
});
