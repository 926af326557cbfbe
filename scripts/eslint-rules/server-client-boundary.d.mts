import type { ESLint, Rule } from "eslint";

export declare const serverClientBoundary: ESLint.Plugin & { rules: Record<"no-server-only-in-client" | "no-client-in-server", Rule.RuleModule> };
