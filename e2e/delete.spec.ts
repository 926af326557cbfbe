import { expect, test } from "./fixtures";

test("an administrator deletes a backup from its ⋮ menu; it and its files are gone and the deletion is audited", async ({ consolePage, page }) => {
  await consolePage.signIn("Ada Admin", "/projects/acme/uat/backups");
  const firstRow = page.getByRole("table").getByRole("row").nth(1);
  const backupId = (await firstRow.getByRole("rowheader").textContent())!.trim();
  expect(backupId).toMatch(/^acme-[a-z]+-\d{12}$/);
  expect((await page.request.head(`/backup/download/database/${backupId}`)).status()).toBe(200);

  await firstRow.getByRole("button", { name: `Actions for ${backupId}` }).click();
  await page.getByRole("menuitem", { name: "Delete…" }).click();
  const dialog = page.getByRole("dialog", { name: "Delete backup" });
  await expect(dialog).toContainText(backupId);
  await expect(dialog.getByRole("button", { name: "Cancel" })).toBeVisible();
  await dialog.getByRole("button", { name: "Delete backup" }).click();

  await expect(dialog).toBeHidden();
  await expect(page.getByRole("status").filter({ hasText: "were deleted" })).toContainText(backupId);
  await expect(page.getByRole("row").filter({ hasText: backupId })).toHaveCount(0);
  expect((await page.request.get(`/backup/download/database/${backupId}`)).status()).toBe(404);

  await page.getByRole("link", { name: "Activity" }).click();
  await expect(page.getByRole("row").filter({ hasText: backupId }).filter({ hasText: "Deleted a backup" })).toBeVisible();
});

test("a member has no Delete… or Restore… in the ⋮ menu", async ({ consolePage, page }) => {
  await consolePage.signIn("Max Member", "/projects/acme/dev/backups");
  const firstRow = page.getByRole("table").getByRole("row").nth(1);
  const backupId = (await firstRow.getByRole("rowheader").textContent())!.trim();
  await firstRow.getByRole("button", { name: `Actions for ${backupId}` }).click();
  await expect(page.getByRole("menuitem", { name: "Download" })).toBeVisible();
  await expect(page.getByRole("menuitem", { name: "Delete…" })).toHaveCount(0);
  await expect(page.getByRole("menuitem", { name: "Restore…" })).toHaveCount(0);
});
