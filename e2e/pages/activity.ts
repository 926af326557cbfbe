import type { Locator, Page } from "@playwright/test";

/** An environment's Activity page: who did what, when, from where. */
export class ActivityPage {
  constructor(readonly page: Page) {}

  /** The entries that mention every one of `texts`. */
  entries(...texts: string[]): Locator {
    return texts.reduce((rows, text) => rows.filter({ hasText: text }), this.page.getByRole("row"));
  }
}
