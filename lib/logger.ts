import pino from "pino";

/**
 * Structured JSON logs on stdout. The level comes straight from LOG_LEVEL so
 * logging works before (and while reporting on) configuration parsing.
 */
export const logger = pino({
  level: process.env.LOG_LEVEL ?? "info",
  base: { service: "lifeboat" },
  redact: ["req.headers.authorization", "req.headers.cookie", "req.headers['dxpcloud-authorization']", "*.password", "*.secret"],
});
