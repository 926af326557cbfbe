import { defineConfig, globalIgnores } from "eslint/config";
import nextVitals from "eslint-config-next/core-web-vitals";
import nextTypescript from "eslint-config-next/typescript";
import prettier from "eslint-config-prettier/flat";
import drizzle from "eslint-plugin-drizzle";
import { importX } from "eslint-plugin-import-x";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";
import tseslint from "typescript-eslint";

import { serverClientBoundary } from "./scripts/eslint-rules/server-client-boundary.mjs";

// The objects drizzle queries are made on: `db` (also `handle.db`, `deps.db`) and a transaction's `tx`.
const DRIZZLE_OBJECTS = { drizzleObjectName: ["db", "tx"] };

export default defineConfig([
  globalIgnores([
    ".next/**",
    "node_modules/**",
    "data/**",
    ".e2e-data/**",
    ".e2e-data-resume/**",
    "coverage/**",
    ".reports/**",
    "test-results/**",
    "playwright-report/**",
    "next-env.d.ts",
  ]),

  // Next.js's own rules (React, hooks, accessibility, Core Web Vitals) and its TypeScript set (typescript-eslint's recommended).
  ...nextVitals,
  ...nextTypescript,

  {
    // React's rules of hooks are for React code. Outside app/ and components/ a function named `use` is a plain
    // callback: Playwright's fixture `use`, or a helper's `use(archive)`, not React's use().
    name: "lifeboat/not-react",
    files: ["lib/**/*.ts", "e2e/**/*.ts", "bench/**/*.ts", "scripts/**/*.{ts,mjs}", "server.ts"],
    rules: { "react-hooks/rules-of-hooks": "off" },
  },

  {
    name: "lifeboat/typescript",
    files: ["**/*.{ts,tsx,mts}"],
    plugins: { "@typescript-eslint": tseslint.plugin },
    rules: {
      // The style's `import type`: a type never drags a module (and its side effects) into a bundle.
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "separate-type-imports" }],
      // Next's set only warns; a warning nobody reads is no rule. `_` marks what is unused on purpose.
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_", ignoreRestSiblings: true },
      ],
      "@typescript-eslint/no-unused-expressions": "error",
    },
  },

  {
    name: "lifeboat/imports",
    files: ["**/*.{ts,tsx,mts,mjs,js}"],
    plugins: { "import-x": importX },
    settings: {
      // TypeScript's extensions and parser for the modules the rule reads, and tsconfig.json's `@/*` alias, so the
      // cycle rule follows the imports the code really has.
      "import-x/extensions": importX.flatConfigs.typescript.settings["import-x/extensions"],
      "import-x/external-module-folders": importX.flatConfigs.typescript.settings["import-x/external-module-folders"],
      "import-x/parsers": importX.flatConfigs.typescript.settings["import-x/parsers"],
      "import-x/resolver-next": [createTypeScriptImportResolver({ project: "./tsconfig.json", alwaysTryTypes: true })],
    },
    rules: {
      // A cycle makes import order decide what is initialised; type-only imports are erased and do not count. The rule
      // sees cycles between files; the folders' mutual dependencies (backups↔uploads, http↔handlers, auth↔tokens) are
      // not file cycles, and the tree has none of those, so no file needs an exception.
      "import-x/no-cycle": ["error", { ignoreExternal: true }],
    },
  },

  {
    name: "lifeboat/server-client-boundary",
    plugins: { lifeboat: serverClientBoundary },
    files: ["**/*.{ts,tsx}"],
    rules: { "lifeboat/no-server-only-in-client": "error" },
  },
  {
    name: "lifeboat/server-code",
    files: ["lib/**/*.{ts,tsx}", "server.ts"],
    rules: { "lifeboat/no-client-in-server": "error" },
  },

  {
    // Every update and delete has a `where` (the style's create-t3-app rule): one missing is every row of the table.
    name: "lifeboat/drizzle",
    files: ["**/*.{ts,tsx}"],
    plugins: { drizzle },
    rules: {
      "drizzle/enforce-delete-with-where": ["error", DRIZZLE_OBJECTS],
      "drizzle/enforce-update-with-where": ["error", DRIZZLE_OBJECTS],
    },
  },

  // Last: turns off every stylistic rule that would fight Prettier, which owns formatting.
  prettier,
]);
