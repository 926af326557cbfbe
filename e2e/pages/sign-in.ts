import { expect } from "@playwright/test";
import type { Locator, Page } from "@playwright/test";

export type DemoUserName = "Ada Admin" | "Max Member" | "Uma Nonprod" | "Olga Operator";

/** Sign-in: Lifeboat's /signin page, the development identity provider's page, and the header's session controls. */
export class SignInPage {
  readonly heading: Locator;
  readonly ssoButton: Locator;
  /** The header's "Signed in as …" on every console page. */
  readonly signedInAs: Locator;

  constructor(readonly page: Page) {
    this.heading = page.getByRole("heading", { name: "Lifeboat" });
    this.ssoButton = page.getByRole("button", { name: "Sign in with SSO" });
    this.signedInAs = page.getByLabel("Signed in as");
  }

  /** Opens `path`, is sent to sign-in, and comes back signed in as `user`. */
  async signIn(user: DemoUserName, path = "/") {
    await this.page.goto(path);
    await expect(this.page).toHaveURL(/\/signin/);
    await this.ssoButton.click();
    // The development identity provider's own page, on its own port.
    await expect(this.page.getByRole("heading", { name: "Lifeboat development sign-in" })).toBeVisible();
    await this.page.getByRole("button", { name: `Sign in as ${user}` }).click();
    await expect(this.signedInAs).toContainText(user);
  }

  async signOut() {
    await this.page.getByRole("button", { name: "Sign out" }).click();
    await expect(this.page).toHaveURL(/\/signin/);
  }
}
