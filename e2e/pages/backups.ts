import { expect } from "@playwright/test";
import type { Download, Locator, Page } from "@playwright/test";

/** What a backup ID looks like: project, a run of letters, the UTC minute. */
export const BACKUP_ID = /acme-[a-z]+-\d{12}/;

export type FileLabel = "Database (.gz)" | "Liferay (.tgz)";

/** An environment's Backups page: the list, its filters, the ⋮ menu and its dialogs, Create backup, the restores. */
export class BackupsPage {
  readonly table: Locator;
  readonly createButton: Locator;
  readonly statusFilter: Locator;
  readonly originFilter: Locator;
  readonly activityLink: Locator;
  readonly uploadLink: Locator;
  readonly menu: Locator;
  readonly downloadDialog: Locator;
  readonly restoreDialog: Locator;
  readonly deleteDialog: Locator;
  readonly restores: Locator;
  /** What is missing for a backup, beside Create backup. */
  readonly beforeCreateNote: Locator;
  /** The History section: its summary, charts and table. */
  readonly history: Locator;

  constructor(readonly page: Page) {
    // The list, not the History section's table of numbers.
    this.table = page.getByRole("table", { name: /newest first$/ });
    this.createButton = page.getByRole("button", { name: "Create backup" });
    this.statusFilter = page.getByLabel("Status");
    this.originFilter = page.getByLabel("Origin");
    this.activityLink = page.getByRole("link", { name: "Activity" });
    this.uploadLink = page.getByRole("link", { name: "Upload Backup…" });
    this.menu = page.getByRole("menu");
    this.downloadDialog = page.getByRole("dialog", { name: "Download backup" });
    this.restoreDialog = page.getByRole("dialog", { name: "Restore backup" });
    this.deleteDialog = page.getByRole("dialog", { name: "Delete backup" });
    this.restores = page.getByRole("list", { name: "Restores" });
    this.beforeCreateNote = page.getByRole("note", { name: "Before you create a backup" });
    this.history = page.getByRole("region", { name: "History" });
  }

  async goto(environment: string, project = "acme") {
    await this.page.goto(`/projects/${project}/${environment}/backups`);
  }

  /** The backups' rows (the header row has no row header). */
  rows(): Locator {
    return this.table.getByRole("row").filter({ has: this.page.getByRole("rowheader") });
  }

  /** The first row under the header. */
  firstRow(): Locator {
    return this.table.getByRole("row").nth(1);
  }

  row(backupId: string): Locator {
    return this.page.getByRole("row").filter({ hasText: backupId });
  }

  async backupIdOf(row: Locator): Promise<string> {
    return (await row.getByRole("rowheader").textContent())!.trim();
  }

  actionsButton(backupId: string): Locator {
    return this.page.getByRole("button", { name: `Actions for ${backupId}` });
  }

  menuItem(name: string): Locator {
    return this.page.getByRole("menuitem", { name });
  }

  /** Opens the ⋮ menu of `backupId` and picks `item`. */
  async choose(backupId: string, item: "Download" | "Restore…" | "Copy ID" | "Pin" | "Unpin" | "Delete…") {
    await this.actionsButton(backupId).click();
    await this.menuItem(item).click();
  }

  /** ⋮ → Download → one file; the dialog is closed again afterwards. */
  async download(backupId: string, label: FileLabel): Promise<Download> {
    await this.choose(backupId, "Download");
    const dialog = this.downloadDialog;
    await expect(dialog).toContainText(backupId);
    const download = this.page.waitForEvent("download");
    await dialog.getByRole("link", { name: label }).click();
    const result = await download;
    await dialog.getByRole("button", { name: "Close" }).click();
    await expect(dialog).toHaveCount(0);
    return result;
  }

  /** The message that says a new backup is queued. */
  queued(): Locator {
    return this.page.getByRole("status").filter({ hasText: "is queued" });
  }

  /** The backup ID a message names. */
  async backupIdIn(message: Locator): Promise<string> {
    return (await message.getByText(BACKUP_ID).textContent())!.trim();
  }

  /** Presses Create backup, sees it queued, and returns its ID once its row says Completed. */
  async createAndWaitUntilCompleted(): Promise<string> {
    await this.createButton.click();
    const queued = this.queued();
    await expect(queued).toBeVisible();
    const backupId = await this.backupIdIn(queued);
    await expect(this.row(backupId)).toContainText("Completed", { timeout: 60_000 });
    return backupId;
  }

  restore(backupId: string): Locator {
    return this.restores.getByRole("listitem").filter({ hasText: backupId });
  }
}
