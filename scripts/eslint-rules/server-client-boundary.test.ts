import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { RuleTester } from "eslint";
import tseslint from "typescript-eslint";
import { afterAll, describe, it } from "vitest";

import { serverClientBoundary } from "./server-client-boundary.mjs";

RuleTester.describe = describe;
RuleTester.it = it;
RuleTester.itOnly = it.only;

// A small repository on disk: the rule reads the modules an import names.
const root = fs.mkdtempSync(path.join(os.tmpdir(), "lifeboat-boundary-"));
const files: Record<string, string> = {
  "lib/db/queries.ts": 'import "server-only";\n\nexport const listBackups = () => [];\nexport type BackupRow = { id: string };\n',
  "lib/auth/session.ts": '/** The session. */\n// Server code only.\nimport "server-only";\nexport const getSession = () => null;\n',
  "lib/format.ts": "export const formatBytes = (n: number) => `${n} B`;\n",
  "components/ui/button.tsx": '"use client";\n\nexport function Button() {\n  return null;\n}\nexport type ButtonProps = { label: string };\n',
  "components/ui/index.ts": "'use client';\nexport { Button } from \"./button\";\n",
  "components/hooks/use-thing.ts": '// A hook for the browser.\n"use client";\nexport const useThing = () => 1;\n',
};
for (const [name, text] of Object.entries(files)) {
  fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
  fs.writeFileSync(path.join(root, name), text);
}
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const at = (name: string) => path.join(root, name);
const options = [{ root }];
const tester = new RuleTester({ languageOptions: { parser: tseslint.parser, ecmaVersion: 2022, sourceType: "module" } });

describe("no-server-only-in-client", () => {
  const client = at("app/page/backups-table.tsx");
  tester.run("no-server-only-in-client", serverClientBoundary.rules["no-server-only-in-client"], {
    valid: [
      { filename: client, options, code: '"use client";\nimport { formatBytes } from "@/lib/format";' },
      { filename: client, options, code: '"use client";\nimport { useQuery } from "@tanstack/react-query";' },
      // Types are erased: they carry no server code into the bundle.
      { filename: client, options, code: '"use client";\nimport type { BackupRow } from "@/lib/db/queries";' },
      { filename: client, options, code: '"use client";\nimport { type BackupRow } from "@/lib/db/queries";' },
      { filename: client, options, code: '"use client";\nexport type { BackupRow } from "@/lib/db/queries";' },
      // Not a client module: a server component may use the data layer.
      { filename: at("app/page/page.tsx"), options, code: 'import { listBackups } from "@/lib/db/queries";' },
      // "use client" only counts as the first statement.
      { filename: at("app/page/page.tsx"), options, code: 'import { listBackups } from "@/lib/db/queries";\n"use client";' },
    ],
    invalid: [
      {
        filename: client,
        options,
        code: '"use client";\nimport { listBackups } from "@/lib/db/queries";',
        errors: [{ messageId: "serverOnly", data: { module: "lib/db/queries.ts" } }],
      },
      {
        filename: client,
        options,
        code: '/** The table. */\n"use client";\nimport { getSession } from "../../lib/auth/session";',
        errors: [{ messageId: "serverOnly", data: { module: "lib/auth/session.ts" } }],
      },
      { filename: client, options, code: "'use client';\nexport { listBackups } from \"@/lib/db/queries\";", errors: [{ messageId: "serverOnly" }] },
      { filename: client, options, code: '"use client";\nexport * from "@/lib/db/queries";', errors: [{ messageId: "serverOnly" }] },
      { filename: client, options, code: '"use client";\nconst load = () => import("@/lib/db/queries");', errors: [{ messageId: "serverOnly" }] },
      // A mixed import keeps the module at run time.
      {
        filename: client,
        options,
        code: '"use client";\nimport { listBackups, type BackupRow } from "@/lib/db/queries";',
        errors: [{ messageId: "serverOnly" }],
      },
      { filename: client, options, code: '"use client";\nimport "server-only";', errors: [{ messageId: "direct" }] },
    ],
  });
});

describe("no-client-in-server", () => {
  const server = at("lib/backups/serialize.ts");
  tester.run("no-client-in-server", serverClientBoundary.rules["no-client-in-server"], {
    valid: [
      { filename: server, options, code: 'import { formatBytes } from "@/lib/format";' },
      { filename: server, options, code: 'import { listBackups } from "../db/queries";' },
      { filename: server, options, code: 'import type { ButtonProps } from "@/components/ui/button";' },
      // A module that does not exist (yet) is the type checker's business.
      { filename: server, options, code: 'import { nothing } from "@/lib/nowhere";' },
      // A "use client" module may import another one.
      { filename: at("lib/browser/widget.tsx"), options, code: '"use client";\nimport { Button } from "@/components/ui/button";' },
    ],
    invalid: [
      {
        filename: server,
        options,
        code: 'import { Button } from "@/components/ui/button";',
        errors: [{ messageId: "useClient", data: { module: "components/ui/button.tsx" } }],
      },
      // A folder's index, and a directive after a comment.
      {
        filename: server,
        options,
        code: 'import { Button } from "@/components/ui";',
        errors: [{ messageId: "useClient", data: { module: "components/ui/index.ts" } }],
      },
      { filename: server, options, code: 'import { useThing } from "../../components/hooks/use-thing";', errors: [{ messageId: "useClient" }] },
      { filename: server, options, code: 'export { Button } from "@/components/ui/button";', errors: [{ messageId: "useClient" }] },
    ],
  });
});
