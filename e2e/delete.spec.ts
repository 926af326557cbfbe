import { expect, test } from "./fixtures";

test("an administrator deletes a backup from its ⋮ menu; it and its files are gone and the deletion is audited", async ({
  signInPage,
  backupsPage,
  activityPage,
  page,
}) => {
  await signInPage.signIn("Ada Admin", "/projects/acme/uat/backups");
  const backupId = await backupsPage.backupIdOf(backupsPage.firstRow());
  expect(backupId).toMatch(/^acme-[a-z]+-\d{12}$/);
  expect((await page.request.head(`/backup/download/database/${backupId}`)).status()).toBe(200);

  await backupsPage.choose(backupId, "Delete…");
  const dialog = backupsPage.deleteDialog;
  await expect(dialog).toContainText(backupId);
  await expect(dialog.getByRole("button", { name: "Cancel" })).toBeVisible();
  await dialog.getByRole("button", { name: "Delete backup" }).click();

  await expect(dialog).toBeHidden();
  await expect(page.getByRole("status").filter({ hasText: "were deleted" })).toContainText(backupId);
  await expect(backupsPage.row(backupId)).toHaveCount(0);
  expect((await page.request.get(`/backup/download/database/${backupId}`)).status()).toBe(404);

  await backupsPage.activityLink.click();
  await expect(activityPage.entries(backupId, "Deleted a backup")).toBeVisible();
});

test("a member has no Delete… or Restore… in the ⋮ menu", async ({ signInPage, backupsPage }) => {
  await signInPage.signIn("Max Member", "/projects/acme/dev/backups");
  const backupId = await backupsPage.backupIdOf(backupsPage.firstRow());
  await backupsPage.actionsButton(backupId).click();
  await expect(backupsPage.menuItem("Download")).toBeVisible();
  await expect(backupsPage.menuItem("Delete…")).toHaveCount(0);
  await expect(backupsPage.menuItem("Restore…")).toHaveCount(0);
});
