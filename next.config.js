/** @type {import('next').NextConfig} */
const nextConfig = {
  // Loaded from node_modules at run time, not bundled: PGlite ships a WASM
  // build, pino spawns workers, and both must be the same instance the
  // custom server uses; so must prom-client, whose one registry counts for
  // route handlers and the byte paths alike.
  serverExternalPackages: ["@electric-sql/pglite", "pino", "postgres", "prom-client"],
  poweredByHeader: false,
  reactStrictMode: true,
  typedRoutes: false,
};

export default nextConfig;
