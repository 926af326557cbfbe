import { expect } from "@playwright/test";
import type { Page } from "@playwright/test";

export type DemoUserName = "Ada Admin" | "Max Member" | "Uma Nonprod" | "Olga Operator";

/** The console as a person sees it: sign-in, the environments overview, the header. */
export class ConsolePage {
  constructor(readonly page: Page) {}

  async signIn(user: DemoUserName, path = "/") {
    await this.page.goto(path);
    await expect(this.page).toHaveURL(/\/signin/);
    await this.page.getByRole("button", { name: "Sign in with SSO" }).click();
    // The development identity provider's own page, on its own port.
    await expect(this.page.getByRole("heading", { name: "Lifeboat development sign-in" })).toBeVisible();
    await this.page.getByRole("button", { name: `Sign in as ${user}` }).click();
    await expect(this.page.getByLabel("Signed in as")).toContainText(user);
  }

  async signOut() {
    await this.page.getByRole("button", { name: "Sign out" }).click();
    await expect(this.page).toHaveURL(/\/signin/);
  }

  environments(project = "Acme") {
    return this.page.getByRole("list", { name: `Environments of ${project}` }).getByRole("listitem");
  }

  environment(name: string, project = "Acme") {
    return this.environments(project).filter({ has: this.page.getByRole("heading", { name, exact: true }) });
  }
}
