import { createHmac, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

import type { AppConfig } from "@/lib/config";

/**
 * The secret that signs sessions. A real deployment sets AUTH_SECRET (config
 * refuses to start without it); the embedded default makes one on first start
 * and keeps it in the data folder so sessions survive a restart.
 */
export function resolveAuthSecret(config: AppConfig): string {
  if (config.authSecret) return config.authSecret;
  const file = path.join(config.dataDir, "auth-secret");
  try {
    return fs.readFileSync(file, "utf8").trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  fs.mkdirSync(config.dataDir, { recursive: true });
  const secret = randomBytes(32).toString("base64url");
  fs.writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: "wx" });
  return secret;
}

/** The development provider's one client: its secret is derived so nothing extra is stored. */
export function developmentClient(authSecret: string): { clientId: string; clientSecret: string } {
  return {
    clientId: "lifeboat-console",
    clientSecret: createHmac("sha256", authSecret).update("lifeboat-dev-oidc-client").digest("base64url"),
  };
}

/** Set by server.ts once the development provider listens; read by the next-auth options. */
export const DEV_ISSUER_ENV = "LIFEBOAT_DEV_OIDC_ISSUER";
