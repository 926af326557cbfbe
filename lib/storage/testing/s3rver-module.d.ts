// s3rver ships no type declarations; this covers the part of its API the test harness uses.
// (Not named s3rver.d.ts: next to s3rver.ts, tsc would treat that as the harness's own output and skip it.)
declare module "s3rver" {
  import type { IncomingHttpHeaders, IncomingMessage, Server } from "node:http";
  import type { AddressInfo } from "node:net";
  import type { Readable } from "node:stream";

  namespace S3rver {
    interface Options {
      address?: string;
      port?: number;
      silent?: boolean;
      directory?: string;
      resetOnClose?: boolean;
      allowMismatchedSignatures?: boolean;
      vhostBuckets?: boolean;
      serviceEndpoint?: string;
      configureBuckets?: Array<{ name: string; configs?: Array<string | Buffer> }>;
    }

    /** The slice of Koa's context the harness touches (S3rver is a Koa app). */
    interface Context {
      method: string;
      url: string;
      query: Record<string, string | string[] | undefined>;
      headers: IncomingHttpHeaders;
      req: IncomingMessage | Readable;
      status: number;
      type: string;
      body: unknown;
      response: { get(field: string): string };
    }

    type Middleware = (ctx: Context, next: () => Promise<void>) => Promise<void>;
  }

  class S3rver {
    constructor(options?: S3rver.Options);
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
    /** Koa's middleware stack, composed when the server starts listening. */
    middleware: S3rver.Middleware[];
    httpServer?: Server;
  }

  export = S3rver;
}
