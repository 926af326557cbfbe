import { createOpenApiDocument } from "@/lib/api/openapi/document";
import { apiRoute } from "@/lib/api/route";
import { getConfig } from "@/lib/config";

export const dynamic = "force-dynamic";

let cached: { serverUrl: string; document: ReturnType<typeof createOpenApiDocument> } | undefined;

/** The OpenAPI 3.1 document of every route; public, like any API's reference. */
export const GET = apiRoute(async () => {
  const serverUrl = getConfig().url;
  if (cached?.serverUrl !== serverUrl) cached = { serverUrl, document: createOpenApiDocument({ serverUrl }) };
  return Response.json(cached.document);
});
