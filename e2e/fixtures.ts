import { test as base } from "@playwright/test";

import { ActivityPage } from "./pages/activity";
import { BackupsPage } from "./pages/backups";
import { EnvironmentsPage } from "./pages/environments";
import { SettingsPage } from "./pages/settings";
import { SignInPage } from "./pages/sign-in";
import { TokensPage } from "./pages/tokens";
import { UploadPage } from "./pages/upload";

/** One page object per page of the console, each on the test's page. */
export interface ConsolePages {
  signInPage: SignInPage;
  environmentsPage: EnvironmentsPage;
  backupsPage: BackupsPage;
  activityPage: ActivityPage;
  uploadPage: UploadPage;
  settingsPage: SettingsPage;
  tokensPage: TokensPage;
}

export const test = base.extend<ConsolePages>({
  signInPage: async ({ page }, use) => use(new SignInPage(page)),
  environmentsPage: async ({ page }, use) => use(new EnvironmentsPage(page)),
  backupsPage: async ({ page }, use) => use(new BackupsPage(page)),
  activityPage: async ({ page }, use) => use(new ActivityPage(page)),
  uploadPage: async ({ page }, use) => use(new UploadPage(page)),
  settingsPage: async ({ page }, use) => use(new SettingsPage(page)),
  tokensPage: async ({ page }, use) => use(new TokensPage(page)),
});

export { expect } from "@playwright/test";
