import type { Page } from "@playwright/test";

import { expect, test } from "./fixtures";

const DEV = "/api/v1/projects/acme/environments/dev";

async function completedBackups(page: Page): Promise<string[]> {
  const body = await (await page.request.get(`${DEV}/backups?status=completed&per_page=100`)).json();
  return (body.response as { id: string }[]).map((b) => b.id);
}

test("pinning protects a backup from a retention run, and Settings shows what the rules would delete before they are saved", async ({
  signInPage,
  backupsPage,
  settingsPage,
  page,
}) => {
  test.setTimeout(180_000);
  await signInPage.signIn("Ada Admin", "/projects/acme/dev/backups");
  const origin = new URL(page.url()).origin;
  // Two fresh backups: the newer is the newest completed one, which no rule deletes; the older is the one to pin.
  const older = await backupsPage.createAndWaitUntilCompleted();
  const newest = await backupsPage.createAndWaitUntilCompleted();
  const doomed = (await completedBackups(page)).filter((id) => id !== newest && id !== older);
  expect(doomed.length).toBeGreaterThan(0);
  const previewed = async () => (await settingsPage.retentionPreviewList.getByRole("listitem").allTextContents()).map((text) => text.split(" ")[0]).sort();

  try {
    // dev keeps its 10 newest (the demo's keep count): every backup says why it is kept.
    await backupsPage.goto("dev");
    await expect(backupsPage.row(newest)).toContainText("newest · keep count 10");
    await expect(backupsPage.row(older)).toContainText("keep count 10");

    // Keep last 1 instead, not saved yet: the preview says it would delete the older of the two as well.
    await settingsPage.goto("dev");
    await settingsPage.field("Keep count").fill("");
    await settingsPage.field("Keep last").fill("1");
    await expect(settingsPage.retentionPreview).toContainText(`Saving these rules deletes ${doomed.length + 1} backups at once and keeps`);
    expect(await previewed()).toEqual([...doomed, older].sort());

    // Pin it from its ⋮ menu.
    await backupsPage.goto("dev");
    await backupsPage.choose(older, "Pin");
    await expect(backupsPage.row(older)).toContainText("Pinned");

    // Now the same rules would leave it.
    await settingsPage.goto("dev");
    await settingsPage.field("Keep count").fill("");
    await settingsPage.field("Keep last").fill("1");
    await expect(settingsPage.retentionPreview).toContainText(`Saving these rules deletes ${doomed.length === 1 ? "1 backup" : `${doomed.length} backups`}`);
    expect(await previewed()).toEqual([...doomed].sort());

    // Saving applies them at once: what the preview listed is gone, the pinned backup and the newest stay, each saying why.
    await settingsPage.saveButton.click();
    await expect(settingsPage.form.getByRole("status")).toHaveText(
      `Settings saved. The new retention rules deleted ${doomed.length === 1 ? "1 backup" : `${doomed.length} backups`}.`,
    );
    expect((await completedBackups(page)).sort()).toEqual([newest, older].sort());
    await backupsPage.goto("dev");
    await expect(backupsPage.row(newest)).toContainText("newest · last 1");
    await expect(backupsPage.row(older)).toContainText("Pinned");
    for (const id of doomed) await expect(backupsPage.row(id)).toHaveCount(0);
    expect((await page.request.head(`/backup/download/database/${doomed[0]}`)).status()).toBe(404);

    // A pinned backup cannot be deleted by hand either.
    await backupsPage.choose(older, "Delete…");
    await expect(backupsPage.deleteDialog).toContainText("This backup is pinned");
    await expect(backupsPage.deleteDialog.getByRole("button", { name: "Delete backup" })).toBeDisabled();
    await backupsPage.deleteDialog.getByRole("button", { name: "Cancel" }).click();
  } finally {
    // dev as the demo has it, for the specs after this one.
    await page.request.delete(`/api/v1/backups/${older}/pin`, { headers: { origin } });
    const reset = await page.request.put(DEV, { headers: { origin }, data: { retentionKeepCount: 10, retentionKeepLast: null } });
    expect(reset.status()).toBe(200);
  }
});
