import type { Locator, Page } from "@playwright/test";

/** The console's home page: the environments of a project, with the person's role in each. */
export class EnvironmentsPage {
  constructor(readonly page: Page) {}

  environments(project = "Acme"): Locator {
    return this.page.getByRole("list", { name: `Environments of ${project}` }).getByRole("listitem");
  }

  environment(name: string, project = "Acme"): Locator {
    return this.environments(project).filter({ has: this.page.getByRole("heading", { name, exact: true }) });
  }

  settingsLink(name: string): Locator {
    return this.environment(name).getByRole("link", { name: `Settings of ${name}` });
  }

  /** Every "Settings of …" link on the page. */
  anySettingsLink(): Locator {
    return this.page.getByRole("link", { name: /^Settings of/ });
  }
}
