import type { z } from "zod";

import { AppError } from "@/lib/errors";

/** The control plane's bodies are a few hundred bytes; anything near this is not one of ours. */
const MAX_JSON_BYTES = 64 * 1024;

/**
 * Parses a small JSON body against a route's schema; every failure is a 400
 * that says which field. With `emptyAs`, no body at all (`curl -X POST`)
 * counts as that value.
 */
export async function readJsonBody<Schema extends z.ZodType>(request: Request, schema: Schema, options: { emptyAs?: unknown } = {}): Promise<z.infer<Schema>> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_JSON_BYTES) throw new AppError("payload_too_large", "The request body is too large for this endpoint.");
  const text = await request.text();
  if (text.length > MAX_JSON_BYTES) throw new AppError("payload_too_large", "The request body is too large for this endpoint.");
  return parseJsonText(text, schema, options);
}

/** The same rules for a body read some other way (a plain Node handler). */
export function parseJsonText<Schema extends z.ZodType>(text: string, schema: Schema, options: { emptyAs?: unknown } = {}): z.infer<Schema> {
  let body: unknown;
  try {
    body = options.emptyAs !== undefined && text.trim() === "" ? options.emptyAs : JSON.parse(text);
  } catch {
    throw new AppError("bad_request", "The request body must be JSON.");
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ field: i.path.join("."), message: i.message }));
    throw new AppError("bad_request", issues.map((i) => (i.field ? `${i.field}: ${i.message}` : i.message)).join("; "), issues);
  }
  return parsed.data;
}
