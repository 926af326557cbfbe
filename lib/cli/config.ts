import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";

import { CliError, EXIT, usageError } from "./errors";

/** What `lifeboat login` stores: where the server is and the token to send it. */
export interface StoredConfig {
  url: string;
  token: string;
}

export type Env = Record<string, string | undefined>;

/**
 * `$LIFEBOAT_CONFIG_DIR`, else `$XDG_CONFIG_HOME/lifeboat`, else
 * `~/.config/lifeboat`. Upload state and the like live beside the config.
 */
export function configDir(env: Env): string {
  if (env.LIFEBOAT_CONFIG_DIR) return env.LIFEBOAT_CONFIG_DIR;
  if (env.XDG_CONFIG_HOME) return path.join(env.XDG_CONFIG_HOME, "lifeboat");
  return path.join(env.HOME || homedir(), ".config", "lifeboat");
}

export function configFile(env: Env): string {
  return path.join(configDir(env), "config.json");
}

export async function readStoredConfig(env: Env): Promise<Partial<StoredConfig>> {
  const file = configFile(env);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new CliError(`Cannot read ${file}: ${(error as Error).message}`, EXIT.unexpected);
  }
  try {
    const parsed = JSON.parse(text) as Partial<StoredConfig>;
    return {
      ...(typeof parsed.url === "string" ? { url: parsed.url } : {}),
      ...(typeof parsed.token === "string" ? { token: parsed.token } : {}),
    };
  } catch {
    throw new CliError(`${file} is not valid JSON; run "lifeboat login" again to rewrite it.`, EXIT.unexpected);
  }
}

/** Readable by its owner only: the file holds a token that acts as that person. */
export async function writeStoredConfig(env: Env, config: StoredConfig): Promise<string> {
  const dir = configDir(env);
  const file = configFile(env);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  await chmod(temp, 0o600); // the mode above is masked by the umask; this is not
  await rename(temp, file);
  return file;
}

/** Trailing slashes off, and only http(s): every path is appended to it. */
export function normalizeUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw usageError(`"${raw}" is not a URL; give the server's address, like https://lifeboat.example.com.`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw usageError(`"${raw}" is not an http(s) URL.`);
  return url.toString().replace(/\/+$/, "");
}

export interface Connection {
  url: string;
  token: string;
}

/**
 * Flag beats environment beats the config file, for the URL and the token
 * alike: a CI job's LIFEBOAT_TOKEN wins over whatever someone's laptop stored.
 */
export async function resolveConnection(env: Env, flags: { url?: string }): Promise<Connection> {
  const stored = await readStoredConfig(env);
  const url = flags.url ?? env.LIFEBOAT_URL ?? stored.url;
  const token = env.LIFEBOAT_TOKEN ?? stored.token;
  if (!url) throw usageError('No server URL: run "lifeboat login --url URL", or pass --url or set LIFEBOAT_URL.');
  if (!token) throw new CliError('No API token: run "lifeboat login", or set LIFEBOAT_TOKEN.', EXIT.auth);
  return { url: normalizeUrl(url), token: token.trim() };
}
