/**
 * Two rules that keep the server/client boundary where Next.js draws it.
 *
 * - `no-server-only-in-client`: a module that begins with "use client" is bundled for the browser; it must not
 *   import "server-only", nor a module that imports it (the data layer, the session): those throw in a client
 *   bundle, or worse, pull server code and secrets towards it.
 * - `no-client-in-server`: server code (every module of lib/ that is not itself "use client") must not import a
 *   "use client" module: what it gets is a client reference, not the function or component it meant to call.
 *
 * Type-only imports are erased by TypeScript and cross the boundary harmlessly; they are not reported. Imports are
 * followed one step (the module named in the import); `@/` is the repository root, as in tsconfig.json.
 */
import fs from "node:fs";
import path from "node:path";

const EXTENSIONS = [".ts", ".tsx", ".mts", ".js", ".jsx", ".mjs"];

// A directive is the first statement; comments may stand before it.
const USE_CLIENT = /^(?:\s+|\/\/[^\n]*\n|\/\*[\s\S]*?\*\/)*["']use client["']/;
const IMPORTS_SERVER_ONLY = /^\s*import\s+["']server-only["']/m;

/** What each module on disk declares, read once per lint run (and again when the file changes). */
const cache = new Map();

function traits(file) {
  let stat;
  try {
    stat = fs.statSync(file);
  } catch {
    return undefined;
  }
  const cached = cache.get(file);
  if (cached && cached.mtimeMs === stat.mtimeMs) return cached;
  const source = fs.readFileSync(file, "utf8");
  const found = { mtimeMs: stat.mtimeMs, useClient: USE_CLIENT.test(source), serverOnly: IMPORTS_SERVER_ONLY.test(source) };
  cache.set(file, found);
  return found;
}

/** The file an import names, for `@/…` and relative specifiers; undefined for packages and what does not exist. */
function resolveImport(specifier, fromFile, root) {
  let base;
  if (specifier.startsWith("@/")) base = path.join(root, specifier.slice(2));
  else if (specifier.startsWith("./") || specifier.startsWith("../")) base = path.resolve(path.dirname(fromFile), specifier);
  else return undefined;
  const candidates = [base, ...EXTENSIONS.map((ext) => base + ext), ...EXTENSIONS.map((ext) => path.join(base, `index${ext}`))];
  return candidates.find((candidate) => fs.statSync(candidate, { throwIfNoEntry: false })?.isFile());
}

/** An import TypeScript erases: `import type …`, `export type … from`, or only `type` specifiers. */
function isTypeOnly(node) {
  if (node.importKind === "type" || node.exportKind === "type") return true;
  const specifiers = node.specifiers ?? [];
  return specifiers.length > 0 && specifiers.every((s) => s.importKind === "type" || s.exportKind === "type");
}

/** Calls `check(specifierNode, specifier)` for every import of a module that survives compilation. */
function visitImports(check) {
  const fromDeclaration = (node) => {
    if (!node.source || typeof node.source.value !== "string" || isTypeOnly(node)) return;
    check(node.source, node.source.value);
  };
  return {
    ImportDeclaration: fromDeclaration,
    ExportNamedDeclaration: fromDeclaration,
    ExportAllDeclaration: fromDeclaration,
    ImportExpression(node) {
      if (node.source.type === "Literal" && typeof node.source.value === "string") check(node.source, node.source.value);
    },
  };
}

const rootSchema = [{ type: "object", properties: { root: { type: "string" } }, additionalProperties: false }];
const rootOf = (context) => path.resolve(context.options[0]?.root ?? context.cwd);
const relative = (root, file) => path.relative(root, file).split(path.sep).join("/");

const noServerOnlyInClient = {
  meta: {
    type: "problem",
    docs: { description: 'A "use client" module must not import "server-only", nor a module that imports it.' },
    schema: rootSchema,
    messages: {
      direct: 'A "use client" module must not import "server-only": it is bundled for the browser.',
      serverOnly:
        'A "use client" module must not import {{module}}: it imports "server-only" (server code). Pass the data in as props, or fetch it through the API.',
    },
  },
  create(context) {
    const source = context.sourceCode.getText();
    if (!USE_CLIENT.test(source)) return {};
    const root = rootOf(context);
    return visitImports((node, specifier) => {
      if (specifier === "server-only") {
        context.report({ node, messageId: "direct" });
        return;
      }
      const target = resolveImport(specifier, context.filename, root);
      if (target && traits(target)?.serverOnly) context.report({ node, messageId: "serverOnly", data: { module: relative(root, target) } });
    });
  },
};

const noClientInServer = {
  meta: {
    type: "problem",
    docs: { description: 'Server code must not import a "use client" module.' },
    schema: rootSchema,
    messages: {
      useClient:
        'Server code must not import {{module}}: it is a "use client" module, so the server gets a client reference instead of its code. Move what both sides need into a module without "use client".',
    },
  },
  create(context) {
    // A "use client" module under lib/ is client code itself: the other rule watches it.
    if (USE_CLIENT.test(context.sourceCode.getText())) return {};
    const root = rootOf(context);
    return visitImports((node, specifier) => {
      const target = resolveImport(specifier, context.filename, root);
      if (target && traits(target)?.useClient) context.report({ node, messageId: "useClient", data: { module: relative(root, target) } });
    });
  },
};

export const serverClientBoundary = {
  meta: { name: "lifeboat-server-client-boundary" },
  rules: { "no-server-only-in-client": noServerOnlyInClient, "no-client-in-server": noClientInServer },
};
