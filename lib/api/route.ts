import { errorToResponse } from "@/lib/errors";
import { logger } from "@/lib/logger";

/**
 * Wraps a route handler so every failure leaves as one JSON error shape:
 * AppErrors with their own status, anything else as a logged, bare 500.
 */
export function apiRoute<Context>(handler: (request: Request, context: Context) => Promise<Response>) {
  return async (request: Request, context: Context): Promise<Response> => {
    try {
      return await handler(request, context);
    } catch (error) {
      return errorToResponse(error, (err) => logger.error({ err, url: request.url, method: request.method }, "request failed"));
    }
  };
}
