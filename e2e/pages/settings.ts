import type { Locator, Page } from "@playwright/test";

/** An environment's Settings page and its form. */
export class SettingsPage {
  readonly form: Locator;
  readonly saveButton: Locator;
  /** Whether backups and restores can run now, check by check. */
  readonly readiness: Locator;
  readonly backupsLink: Locator;
  /** What the retention rules in the form would delete if saved now. */
  readonly retentionPreview: Locator;
  readonly retentionPreviewList: Locator;

  constructor(readonly page: Page) {
    this.form = page.getByRole("form", { name: "Environment settings" });
    this.saveButton = this.form.getByRole("button", { name: "Save settings" });
    this.readiness = page.getByRole("region", { name: "Ready to back up and restore?" });
    this.backupsLink = page.getByRole("link", { name: "Backups" });
    this.retentionPreview = page.getByRole("region", { name: "What these rules would delete" });
    this.retentionPreviewList = this.retentionPreview.getByRole("list", { name: "Backups these rules would delete" });
  }

  async goto(environment: string, project = "acme") {
    await this.page.goto(`/projects/${project}/${environment}/settings`);
  }

  heading(environment: string): Locator {
    return this.page.getByRole("heading", { name: `Settings of ${environment}` });
  }

  field(label: string, exact = false): Locator {
    return this.form.getByLabel(label, { exact });
  }
}
