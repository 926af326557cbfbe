import { expect, test } from "./fixtures";

test.describe("signing in", () => {
  test("an unauthenticated visit is sent to SSO sign-in", async ({ signInPage, page }) => {
    await page.goto("/");
    await expect(page).toHaveURL(/\/signin\?callbackUrl=%2F$/);
    await expect(signInPage.heading).toBeVisible();
    await expect(signInPage.ssoButton).toBeEnabled();
  });

  test("the demo administrator sees the three environments with admin controls", async ({ signInPage, environmentsPage, settingsPage }) => {
    await signInPage.signIn("Ada Admin");
    await expect(signInPage.signedInAs).toContainText("admin@acme.test");
    await expect(environmentsPage.environments()).toHaveCount(3);
    const names = await environmentsPage.environments().getByRole("heading").allTextContents();
    expect(names).toEqual(["prd", "dev", "uat"]);
    await expect(environmentsPage.environment("prd").getByText("Production", { exact: true })).toBeVisible();
    await expect(environmentsPage.environment("uat").getByText("Production", { exact: true })).toHaveCount(0);
    for (const env of ["prd", "uat", "dev"]) {
      await expect(environmentsPage.environment(env).getByText("Administrator")).toBeVisible();
      await expect(environmentsPage.settingsLink(env)).toBeVisible();
    }
    await environmentsPage.settingsLink("prd").click();
    await expect(settingsPage.heading("prd")).toBeVisible();
    await expect(settingsPage.field("Schedule (cron, UTC)")).toHaveValue("0 3 * * *");
  });

  test("a member sees the environments without admin controls", async ({ signInPage, environmentsPage, settingsPage, page }) => {
    await signInPage.signIn("Max Member");
    await expect(environmentsPage.environments()).toHaveCount(3);
    for (const env of ["prd", "uat", "dev"]) {
      await expect(environmentsPage.environment(env).getByText("Member")).toBeVisible();
    }
    await expect(environmentsPage.anySettingsLink()).toHaveCount(0);
    await settingsPage.goto("prd");
    await expect(page.getByRole("alert").filter({ hasText: "Only administrators" })).toContainText(
      "Only administrators of acme-prd and Lifeboat's operators can see its settings.",
    );
  });

  test("the operator sees every environment, and its settings, without a role in any", async ({ signInPage, environmentsPage, page }) => {
    await signInPage.signIn("Olga Operator");
    await expect(environmentsPage.environments()).toHaveCount(3);
    for (const env of ["prd", "uat", "dev"]) {
      await expect(environmentsPage.environment(env).getByText("Operator")).toBeVisible();
      await expect(environmentsPage.settingsLink(env)).toBeVisible();
    }
    // Backups are the environment's data: seeing the list is not being allowed to download.
    await page.goto("/projects/acme/uat/backups");
    await expect(page.getByRole("button", { name: "Create backup" })).toHaveCount(0);
    const origin = new URL(page.url()).origin;
    const list = (await (await page.request.get("/api/v1/projects/acme/environments/uat/backups")).json()) as { response: { id: string }[] };
    const backupId = list.response[0]?.id;
    expect(backupId).toBeTruthy();
    expect((await page.request.get(`/backup/download/database/${backupId}`)).status()).toBe(403);
    expect((await page.request.post(`/api/v1/projects/acme/environments/uat/backups`, { headers: { origin }, data: {} })).status()).toBe(403);
  });

  test("roles are per environment", async ({ signInPage, environmentsPage }) => {
    await signInPage.signIn("Uma Nonprod");
    await expect(environmentsPage.environment("prd").getByText("Member")).toBeVisible();
    await expect(environmentsPage.environment("uat").getByText("Administrator")).toBeVisible();
    await expect(environmentsPage.environment("dev").getByText("Administrator")).toBeVisible();
    await expect(environmentsPage.settingsLink("prd")).toHaveCount(0);
    await expect(environmentsPage.settingsLink("uat")).toBeVisible();
  });

  test("a deep link survives the sign-in round trip", async ({ signInPage, settingsPage, page }) => {
    await signInPage.signIn("Ada Admin", "/projects/acme/uat/settings");
    await expect(page).toHaveURL(/\/projects\/acme\/uat\/settings$/);
    await expect(settingsPage.heading("uat")).toBeVisible();
  });

  test("sign-out ends the session", async ({ signInPage, page }) => {
    await signInPage.signIn("Ada Admin");
    await signInPage.signOut();
    await page.goto("/projects/acme/prd");
    await expect(page).toHaveURL(/\/signin/);
    const response = await page.request.get("/api/v1/environments");
    expect(response.status()).toBe(401);
  });
});

test.describe("API authentication", () => {
  test("an API route without credentials answers 401 JSON", async ({ request }) => {
    const response = await request.get("/api/v1/environments", { maxRedirects: 0 });
    expect(response.status()).toBe(401);
    expect(response.headers()["content-type"]).toContain("application/json");
    const body = await response.json();
    expect(body.error.code).toBe("unauthorized");
    expect(body.error.message).toMatch(/Sign in/);
  });

  test("the same route answers a signed-in browser with its environments", async ({ signInPage, page }) => {
    await signInPage.signIn("Max Member");
    const response = await page.request.get("/api/v1/environments");
    expect(response.status()).toBe(200);
    const body = await response.json();
    expect(body.count).toBe(3);
    expect(body.response.map((e: { name: string; role: string }) => `${e.name}:${e.role}`)).toEqual(["prd:member", "dev:member", "uat:member"]);
  });

  test("the health route answers without a session", async ({ request }) => {
    const response = await request.get("/api/health");
    expect(response.status()).toBe(200);
    expect(await response.json()).toEqual({ status: "ok", database: "pglite" });
  });
});
