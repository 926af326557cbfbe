import { request as playwrightRequest } from "@playwright/test";

import { expect, test } from "./fixtures";

test("Copy link in the Download dialog gives a link that downloads without signing in, and an edited one is refused", async ({
  signInPage,
  backupsPage,
  page,
  context,
  baseURL,
}) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  await signInPage.signIn("Ada Admin", "/projects/acme/prd/backups");
  const backupId = await backupsPage.backupIdOf(backupsPage.firstRow());
  await backupsPage.choose(backupId, "Download");
  const dialog = backupsPage.downloadDialog;
  await dialog.getByRole("button", { name: "Copy link (1 hour) to Database (.gz)" }).click();
  await expect(dialog.getByRole("status")).toContainText("Copied a link to Database (.gz)");
  const link = await page.evaluate(() => navigator.clipboard.readText());
  expect(link).toMatch(new RegExp(`/backup/download/database/${backupId}\\?expires=\\d+&maker=s\\.[A-Za-z0-9_-]+&signature=[0-9a-f]{64}$`));

  // A client with no cookies and no token: the link is its only credential.
  const anonymous = await playwrightRequest.newContext({ baseURL });
  try {
    const ok = await anonymous.get(link);
    expect(ok.status()).toBe(200);
    expect((await ok.body()).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(ok.headers()["x-lifeboat-sha256"]).toMatch(/^[0-9a-f]{64}$/);

    const edited = await anonymous.get(link.replace("/database/", "/volume/"));
    expect(edited.status()).toBe(403);
    expect((await edited.json()).error.message).toContain("not valid");
    expect((await anonymous.get(`/backup/download/database/${backupId}`)).status()).toBe(401);
  } finally {
    await anonymous.dispose();
  }
});
