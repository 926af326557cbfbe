import { createServer } from "node:http";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

import { request as playwrightRequest } from "@playwright/test";

import { expect, test } from "./fixtures";
import { E2E_PORT } from "./helpers/demo-databases";

/*
 * The security findings, replayed where a person meets them: in Chromium,
 * against the embedded default as the README starts it.
 */

/**
 * Another site on the same host: a page of `localhost` on another port is
 * "same-site" to the console, so the browser sends the session cookie
 * (SameSite=Lax) with what it makes — only the Origin check stops it.
 */
async function startOtherSite(html: (consoleUrl: string) => string, consoleUrl: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(html(consoleUrl));
  });
  await new Promise<void>((resolve) => server.listen(E2E_PORT + 50, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://localhost:${port}/`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

test("a page of another site cannot act with the signed-in administrator's session", async ({ signInPage, tokensPage, page, baseURL }) => {
  await signInPage.signIn("Ada Admin");
  const before = (await (await page.request.get("/api/v1/tokens")).json()).count as number;
  const other = await startOtherSite(
    (consoleUrl) => `<!doctype html><title>Prizes</title>
<form id="f" method="post" action="${consoleUrl}/api/v1/tokens" enctype="text/plain">
  <input name='{"name":"stolen","expiresInDays":null,"x":"' value='"}'>
</form>
<script>document.getElementById("f").submit()</script>`,
    baseURL!,
  );
  try {
    await page.goto(other.url);
    // The browser followed the form to the console, with the cookie; the console refused it and said why.
    await expect(page).toHaveURL(`${baseURL}/api/v1/tokens`);
    const answer = JSON.parse((await page.locator("body").textContent()) ?? "{}") as { error?: { code: string; message: string } };
    expect(answer.error?.code).toBe("forbidden");
    expect(answer.error?.message).toMatch(/^This request came from another site \(Origin: http:\/\/localhost:\d+\), so Lifeboat did not act on it/);
  } finally {
    await other.close();
  }
  expect((await (await page.request.get("/api/v1/tokens")).json()).count).toBe(before);
  await page.goto("/tokens");
  await expect(tokensPage.heading).toBeVisible();
  await expect(tokensPage.row("stolen")).toHaveCount(0);
});

test("the console cannot be framed, and its pages run only their own scripts", async ({ signInPage, page, baseURL }) => {
  await signInPage.signIn("Ada Admin");
  const response = await page.goto("/projects/acme/prd/backups");
  const headers = response!.headers();
  expect(headers["x-frame-options"]).toBe("DENY");
  expect(headers["x-content-type-options"]).toBe("nosniff");
  expect(headers["referrer-policy"]).toBe("same-origin");
  const csp = headers["content-security-policy"] ?? "";
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=]+' 'strict-dynamic'/);
  // The page works under its policy: Next's scripts carry the nonce, the table renders and reacts.
  await expect(page.getByRole("table")).toBeVisible();
  const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
  expect(await page.locator(`script[nonce]`).count()).toBeGreaterThan(0);
  expect(nonce).toBeTruthy();

  const other = await startOtherSite(
    (consoleUrl) =>
      `<!doctype html><title>Click to win</title><iframe id="console" src="${consoleUrl}/projects/acme/prd/backups" width="800" height="600"></iframe>`,
    baseURL!,
  );
  try {
    await page.goto(other.url);
    const frame = page.frames().find((f) => f !== page.mainFrame());
    expect(frame).toBeDefined();
    // Chromium refuses to show it: the frame holds its error page, never the console's table.
    await expect.poll(async () => frame!.url()).not.toBe(`${baseURL}/projects/acme/prd/backups`);
    expect(await frame!.locator("table").count()).toBe(0);
  } finally {
    await other.close();
  }
});

test("the development sign-in sends the same protections", async ({ page }) => {
  await page.goto("/signin");
  const signIn = page.waitForResponse((r) => r.url().includes("/interaction/") && r.request().method() === "GET");
  await page.getByRole("button", { name: "Sign in with SSO" }).click();
  const headers = (await signIn).headers();
  expect(headers["x-frame-options"]).toBe("DENY");
  expect(headers["content-security-policy"]).toContain("frame-ancestors 'none'");
  expect(headers["content-security-policy"]).toContain("default-src 'none'");
  expect(headers["x-content-type-options"]).toBe("nosniff");
  expect(headers["referrer-policy"]).toBe("no-referrer");
});

test("a copy of the session cookie is worth nothing after sign-out", async ({ signInPage, page, baseURL }) => {
  await signInPage.signIn("Ada Admin", "/projects/acme/prd/backups");
  const backupId = (await (await page.request.get("/api/v1/projects/acme/environments/prd/backups")).json()).response[0].id as string;
  const copied = await page.context().storageState();
  await signInPage.signOut();

  const replay = await playwrightRequest.newContext({ baseURL, storageState: copied });
  try {
    expect((await replay.get("/api/v1/environments")).status()).toBe(401);
    expect((await replay.get(`/backup/download/database/${backupId}`, { headers: { range: "bytes=0-9" } })).status()).toBe(401);
  } finally {
    await replay.dispose();
  }
});

test("the Activity page shows the address the connection came from, not what X-Forwarded-For claims", async ({ signInPage, activityPage, page }) => {
  await signInPage.signIn("Ada Admin", "/projects/acme/prd/backups");
  const backupId = (await (await page.request.get("/api/v1/projects/acme/environments/prd/backups")).json()).response[0].id as string;
  // A range of its own, so the Activity entry is this download's.
  const download = await page.request.get(`/backup/download/volume/${backupId}`, { headers: { "x-forwarded-for": "6.6.6.6", range: "bytes=3-16" } });
  expect(download.status()).toBe(206);
  await page.goto("/projects/acme/prd/activity");
  const entry = activityPage.entries(backupId, "range 3-16").first();
  await expect(entry).toBeVisible();
  await expect(entry).not.toContainText("6.6.6.6");
  await expect(entry).toContainText(/127\.0\.0\.1|::1/);
});

test("an address whose percent-escapes do not decode is a 400 with JSON, not a 500", async ({ request }) => {
  for (const path of ["/api/v1/backups/%ff", "/api/v1/tokens/%E0%A4%A", "/projects/acme/%c0"]) {
    const response = await request.get(path);
    expect(response.status(), path).toBe(400);
    expect(response.headers()["content-type"], path).toMatch(/application\/json/);
    expect((await response.json()).error.code, path).toBe("bad_request");
  }
});
