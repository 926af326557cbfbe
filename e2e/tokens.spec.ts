import { createHash } from "node:crypto";

import { request as playwrightRequest } from "@playwright/test";
import type { APIRequestContext } from "@playwright/test";

import { expect, test } from "./fixtures";

const ADA_EMAIL = "admin@acme.test";

/** A client with no cookies at all: only the token speaks for it. */
async function tokenClient(baseURL: string, headers: Record<string, string>): Promise<APIRequestContext> {
  return playwrightRequest.newContext({ baseURL, extraHTTPHeaders: headers, storageState: { cookies: [], origins: [] } });
}

function basicAuth(email: string, token: string): string {
  return `Basic ${Buffer.from(`${email}:${token}`).toString("base64")}`;
}

test.describe("API tokens", () => {
  test("Ada creates a uat token, sees it once, uses it, revokes it, and it stops working", async ({ signInPage, tokensPage, page, baseURL }) => {
    await signInPage.signIn("Ada Admin", "/tokens");
    await expect(tokensPage.heading).toBeVisible();
    await expect(tokensPage.headerLink).toBeVisible();

    // A name is required, and the form says so.
    await tokensPage.createButton.click();
    await expect(page.getByRole("alert").filter({ hasText: "Give the token a name" })).toBeVisible();

    const name = `e2e uat ${Date.now()}`;
    await tokensPage.nameInput.fill(name);
    await tokensPage.expiresSelect.selectOption({ label: "30 days" });
    await tokensPage.environmentSelect.selectOption({ label: "acme-uat" });
    await tokensPage.createButton.click();

    const reveal = tokensPage.reveal;
    await expect(reveal.getByRole("heading", { name: "Copy your new token now" })).toBeVisible();
    const token = await tokensPage.tokenValue.inputValue();
    expect(token).toMatch(/^lbt_[A-Za-z0-9_-]{43}$/);
    await expect(reveal.getByRole("button", { name: "Copy" })).toBeVisible();

    const row = tokensPage.row(name);
    await expect(row).toContainText("acme-uat");
    await expect(row).toContainText(token.slice(0, 10));
    await expect(row).toContainText("Active");

    // Shown once: gone after Done, and nowhere on the page after a reload.
    await reveal.getByRole("button", { name: "Done" }).click();
    await expect(reveal).toHaveCount(0);
    await page.reload();
    await expect(row).toBeVisible();
    expect(await page.content()).not.toContain(token);

    const bearer = await tokenClient(baseURL!, { authorization: `Bearer ${token}` });
    const dxp = await tokenClient(baseURL!, { "dxpcloud-authorization": `Bearer ${token}` });
    const basic = await tokenClient(baseURL!, { authorization: basicAuth(ADA_EMAIL, token) });
    try {
      // The token sees uat only, as its owner's administrator.
      const environments = await bearer.get("/api/v1/environments");
      expect(environments.status()).toBe(200);
      const body = await environments.json();
      expect(body.response.map((e: { name: string; role: string }) => `${e.name}:${e.role}`)).toEqual(["uat:admin"]);

      // Download a uat backup with basic auth, as the seeds' curl -u does, and check its bytes.
      const list = await dxp.get("/api/v1/projects/acme/environments/uat/backups");
      expect(list.status()).toBe(200);
      const backup = (await list.json()).response.find((b: { status: string }) => b.status === "completed") as { id: string } | undefined;
      if (!backup) throw new Error("the demo seed has no completed uat backup");
      const download = await basic.get(`/backup/download/database/${backup.id}`);
      expect(download.status()).toBe(200);
      const bytes = await download.body();
      expect(createHash("sha256").update(bytes).digest("hex")).toBe(download.headers()["x-lifeboat-sha256"]);

      // prd does not exist for a uat token.
      expect((await bearer.get("/api/v1/projects/acme/environments/prd/backups")).status()).toBe(404);
      // A token cannot mint tokens.
      expect((await bearer.post("/api/v1/tokens", { data: { name: "minted", expiresInDays: null } })).status()).toBe(403);

      // Revoke in the UI, with confirmation.
      await tokensPage.revokeButton(name).click();
      const dialog = tokensPage.revokeDialog(name);
      await expect(dialog).toContainText("stop working at once");
      await dialog.getByRole("button", { name: "Revoke token" }).click();
      await expect(dialog).toHaveCount(0);
      await expect(row).toContainText("Revoked");
      await expect(tokensPage.revokeButton(name)).toHaveCount(0);

      const after = await bearer.get("/api/v1/environments", { maxRedirects: 0 });
      expect(after.status()).toBe(401);
      expect(after.headers()["content-type"]).toContain("application/json");
      expect((await after.json()).error.message).toBe("The API token has been revoked.");
      const afterDownload = await basic.get(`/backup/download/database/${backup.id}`);
      expect(afterDownload.status()).toBe(401);
    } finally {
      await Promise.all([bearer.dispose(), dxp.dispose(), basic.dispose()]);
    }
  });

  test("an unknown or malformed token is a 401 with a reason, never a redirect", async ({ request }) => {
    const unknown = await request.get("/api/v1/environments", { headers: { authorization: `Bearer lbt_${"A".repeat(43)}` }, maxRedirects: 0 });
    expect(unknown.status()).toBe(401);
    expect((await unknown.json()).error.message).toBe("The API token is not valid.");
    const malformed = await request.get("/api/v1/environments", { headers: { "dxpcloud-authorization": "token-without-scheme" }, maxRedirects: 0 });
    expect(malformed.status()).toBe(401);
    expect((await malformed.json()).error.message).toMatch(/dxpcloud-authorization header is malformed/);
  });
});
