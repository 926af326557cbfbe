import { expect } from "@playwright/test";
import type { Locator, Page } from "@playwright/test";

/** One environment's section of the Upload Backup page: the two file slots, Initiate Upload, progress and outcome. */
export class UploadSection {
  readonly databaseFile: Locator;
  readonly volumeFile: Locator;
  readonly initiateButton: Locator;
  readonly pauseButton: Locator;
  readonly success: Locator;
  readonly failure: Locator;

  constructor(readonly region: Locator) {
    this.databaseFile = region.getByLabel("Database file", { exact: true });
    this.volumeFile = region.getByLabel("Document library file", { exact: true });
    this.initiateButton = region.getByRole("button", { name: "Initiate Upload" });
    this.pauseButton = region.getByRole("button", { name: "Pause" });
    this.success = region.getByRole("status").filter({ hasText: "was generated from your upload" });
    this.failure = region.getByRole("alert").filter({ hasText: "The upload failed" });
  }

  progress(fileName: "database.gz" | "volume.tgz"): Locator {
    return this.region.getByRole("progressbar", { name: `Upload of ${fileName}` });
  }

  /** Puts a file in each slot and starts the upload. */
  async upload(database: string, volume: string) {
    await this.databaseFile.setInputFiles(database);
    await this.volumeFile.setInputFiles(volume);
    await this.initiateButton.click();
  }
}

/** The project's Upload Backup page. */
export class UploadPage {
  readonly heading: Locator;

  constructor(readonly page: Page) {
    this.heading = page.getByRole("heading", { name: "Upload Backup" });
  }

  async goto(environment: string, project = "acme") {
    await this.page.goto(`/projects/${project}/upload?environment=${environment}`);
  }

  section(environment: string): UploadSection {
    return new UploadSection(this.page.getByRole("region", { name: `Upload to ${environment}` }));
  }

  /** From an environment's Backups page, "Upload Backup…": the page opens with that environment expanded. */
  async openFromBackups(environment: string): Promise<UploadSection> {
    await this.page.getByRole("link", { name: "Upload Backup…" }).click();
    await expect(this.heading).toBeVisible();
    const section = this.section(environment);
    await expect(section.region).toBeVisible(); // expanded because we came from its Backups page
    return section;
  }
}
