/** @type {import('next').NextConfig} */
const nextConfig = {
  // Loaded from node_modules at run time, not bundled: PGlite ships a WASM
  // build, pino spawns workers, and both must be the same instance the
  // custom server uses.
  serverExternalPackages: ["@electric-sql/pglite", "pino", "postgres"],
  poweredByHeader: false,
  reactStrictMode: true,
  typedRoutes: false,
};

export default nextConfig;
