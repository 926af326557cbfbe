import type { Locator, Page } from "@playwright/test";

/** The API tokens page: create a token, see it once, revoke it. */
export class TokensPage {
  readonly heading: Locator;
  readonly headerLink: Locator;
  readonly nameInput: Locator;
  readonly expiresSelect: Locator;
  readonly environmentSelect: Locator;
  readonly createButton: Locator;
  /** The new token, shown once. */
  readonly reveal: Locator;
  readonly tokenValue: Locator;
  readonly table: Locator;

  constructor(readonly page: Page) {
    this.heading = page.getByRole("heading", { name: "API tokens", level: 1 });
    this.headerLink = page.getByRole("link", { name: "API tokens" });
    this.nameInput = page.getByLabel("Name", { exact: true });
    this.expiresSelect = page.getByLabel("Expires after", { exact: true });
    this.environmentSelect = page.getByLabel("Environment", { exact: true });
    this.createButton = page.getByRole("button", { name: "Create token" });
    this.reveal = page.getByRole("region", { name: "New token" });
    this.tokenValue = this.reveal.getByLabel("Token value");
    this.table = page.getByRole("table", { name: "Your API tokens" });
  }

  row(name: string): Locator {
    return this.table.getByRole("row").filter({ has: this.page.getByRole("rowheader", { name }) });
  }

  revokeButton(name: string): Locator {
    return this.row(name).getByRole("button", { name: `Revoke ${name}` });
  }

  revokeDialog(name: string): Locator {
    return this.page.getByRole("dialog", { name: `Revoke ${name}?` });
  }
}
