import { test as base } from "@playwright/test";

import { ConsolePage } from "./pages/console";

export const test = base.extend<{ consolePage: ConsolePage }>({
  consolePage: async ({ page }, use) => {
    await use(new ConsolePage(page));
  },
});

export { expect } from "@playwright/test";
