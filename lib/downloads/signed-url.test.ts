import { createHmac, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { revokeAuthSession } from "@/lib/auth/sessions";
import { createTestSession } from "@/lib/auth/testing";
import type { TestSession } from "@/lib/auth/testing";
import { upsertUserOnSignIn } from "@/lib/db/queries/users";
import { auditEvents } from "@/lib/db/schema";
import { DEMO_GROUPS } from "@/lib/db/seed";
import { resolveLinkMaker } from "@/lib/http/actor";
import { createApiToken, revokeApiToken } from "@/lib/tokens/tokens";
import { isAppError } from "@/lib/errors";
import { createStorage } from "@/lib/storage";

import { createSignedDownloadUrl, signDownload, verifySignedDownload } from "./signed-url";
import { rawRequest, startDownloadHarness } from "./testing/harness";
import type { DownloadHarness } from "./testing/harness";
import { DEMO_PEOPLE, seedBackup } from "./testing/seed";
import type { SessionUser } from "./testing/seed";

/** The person behind a fresh session, as the API sees them: what creating a token needs. */
async function resolveActorFor(h: DownloadHarness, user: SessionUser) {
  const session = await createTestSession(h.handle.db, user, h.secret);
  const actor = await resolveLinkMaker(`s.${session.sessionId}`, { db: h.handle.db });
  if (!actor) throw new Error("a fresh session resolves");
  return actor;
}

const SECRET = "s".repeat(40);
const BACKUP_ID = "acme-signedlinktest-202405011020";
const NOW = new Date("2026-03-01T10:00:00.000Z");

function refusal(run: () => unknown): { status: number; message: string } {
  try {
    run();
  } catch (error) {
    if (isAppError(error)) return { status: error.status, message: error.message };
    throw error;
  }
  throw new Error("expected a refusal");
}

describe("signing and checking download links", () => {
  const link = createSignedDownloadUrl(
    { baseUrl: "https://lifeboat.example.com/", kind: "database", backupId: BACKUP_ID, expiresInSeconds: 600, maker: "s.session-1", now: NOW },
    SECRET,
  );
  const query = new URL(link.url).searchParams;
  const check = (params: URLSearchParams, overrides: { kind?: "database" | "volume"; backupId?: string; now?: Date; secret?: string } = {}) =>
    verifySignedDownload(
      { kind: overrides.kind ?? "database", backupId: overrides.backupId ?? BACKUP_ID, query: params, now: overrides.now ?? NOW },
      overrides.secret ?? SECRET,
    );
  const edited = (name: string, value: string) => {
    const copy = new URLSearchParams(query);
    copy.set(name, value);
    return copy;
  };

  it("makes an absolute Liferay download link that expires when it says", () => {
    const expires = NOW.getTime() / 1000 + 600;
    expect(link.url).toBe(
      `https://lifeboat.example.com/backup/download/database/${BACKUP_ID}?expires=${expires}&maker=s.session-1&signature=${query.get("signature")}`,
    );
    expect(link.expiresAt).toEqual(new Date(expires * 1000));
    expect(query.get("signature")).toMatch(/^[0-9a-f]{64}$/);
    expect(check(query)).toEqual({ expires, maker: "s.session-1" });
  });

  it("signs with a subkey derived from the auth secret, not the secret itself", () => {
    const expires = Number(query.get("expires"));
    const withRawSecret = createHmac("sha256", SECRET).update(`database:${BACKUP_ID}:${expires}:s.session-1`).digest("hex");
    expect(signDownload({ kind: "database", backupId: BACKUP_ID, expires, maker: "s.session-1" }, SECRET)).not.toBe(withRawSecret);
  });

  it("refuses an edited, foreign or incomplete link as not valid (403)", () => {
    const notValid = { status: 403, message: expect.stringMatching(/is not valid/) as unknown as string };
    const signature = query.get("signature") ?? "";
    const flipped = (signature[0] === "a" ? "b" : "a") + signature.slice(1);
    expect(refusal(() => check(edited("signature", flipped)))).toEqual(notValid);
    // A later expiry with the old signature: "not valid", not a longer life.
    expect(refusal(() => check(edited("expires", String(Number(query.get("expires")) + 3600))))).toEqual(notValid);
    expect(refusal(() => check(query, { kind: "volume" }))).toEqual(notValid);
    expect(refusal(() => check(query, { backupId: "acme-someotherbackup-202405011020" }))).toEqual(notValid);
    expect(refusal(() => check(query, { secret: "another secret of some length" }))).toEqual(notValid);
    expect(refusal(() => check(new URLSearchParams({ expires: query.get("expires") ?? "" })))).toEqual(notValid);
    expect(refusal(() => check(edited("expires", "soon")))).toEqual(notValid);
    expect(refusal(() => check(edited("signature", "abc")))).toEqual(notValid);
    // Another maker with the same signature: someone else's session cannot be put in.
    expect(refusal(() => check(edited("maker", "s.session-2")))).toEqual(notValid);
    expect(refusal(() => check(edited("maker", "x.session-1")))).toEqual(notValid);
  });

  it("refuses a genuine link once it has expired (403), to the second", () => {
    const expiresAt = link.expiresAt.getTime();
    expect(check(query, { now: new Date(expiresAt - 1000) })).toBeTruthy();
    expect(refusal(() => check(query, { now: new Date(expiresAt) }))).toEqual({
      status: 403,
      message: expect.stringMatching(/has expired/) as unknown as string,
    });
  });
});

describe("signed links on the download path", () => {
  let root: string;
  let h: DownloadHarness;
  const DATABASE = randomBytes(100_000 + 17);

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), "lifeboat-signed-"));
    h = await startDownloadHarness(createStorage({ driver: "local", root }));
    await seedBackup(h.handle.db, h.storage, { id: BACKUP_ID, environmentId: h.environments.prd.id, files: { database: DATABASE, volume: randomBytes(1000) } });
    adminSession = await createTestSession(h.handle.db, DEMO_PEOPLE.admin, h.secret);
  });
  afterAll(async () => {
    await h?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  let adminSession: TestSession;
  const signed = (expiresInSeconds: number, now?: Date, maker = `s.${adminSession.sessionId}`) =>
    createSignedDownloadUrl({ baseUrl: h.baseUrl, kind: "database", backupId: BACKUP_ID, expiresInSeconds, maker, now }, h.secret).url;

  it("serves a production backup's file with no session or token, ranges included, and audits it as signed-url", async () => {
    const url = signed(3600);
    const whole = await rawRequest(url, { headers: { "user-agent": "signed-test/whole" } });
    expect(whole.status).toBe(200);
    expect(whole.body.equals(DATABASE)).toBe(true);

    const part = await rawRequest(url, { headers: { range: "bytes=100-199", "user-agent": "signed-test/range" } });
    expect(part.status).toBe(206);
    expect(part.body.equals(DATABASE.subarray(100, 200))).toBe(true);

    const head = await rawRequest(url, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers["content-length"]).toBe(String(DATABASE.length));

    // The audit row is written after the response ends: once the handlers have returned.
    await h.handlers.settled();
    const rows = await h.handle.db.select().from(auditEvents).where(eq(auditEvents.backupId, BACKUP_ID));
    const wholeRow = rows.find((r) => r.userAgent === "signed-test/whole");
    const expiresAt = new Date(Number(new URL(url).searchParams.get("expires")) * 1000).toISOString();
    expect(wholeRow).toMatchObject({ action: "backup.download", actor: "signed-url", actorType: "token" });
    expect(wholeRow?.detail).toMatchObject({ signedUrl: true, complete: true, status: 200, expiresAt, madeBy: DEMO_PEOPLE.admin.email });
  });

  it("stops working when the session that made it signs out", async () => {
    const session = await createTestSession(h.handle.db, DEMO_PEOPLE.admin, h.secret);
    const url = signed(3600, undefined, `s.${session.sessionId}`);
    expect((await rawRequest(url)).status).toBe(200);
    await revokeAuthSession(h.handle.db, { id: session.sessionId });
    const after = await rawRequest(url);
    expect(after.status).toBe(403);
    expect((JSON.parse(after.body.toString()) as { error: { message: string } }).error.message).toMatch(/no longer works: whoever made it has signed out/);
  });

  it("stops working when the token that made it is revoked", async () => {
    const owner = await resolveActorFor(h, DEMO_PEOPLE.admin);
    const { view } = await createApiToken(h.handle.db, {
      actor: owner,
      input: { name: "links", expiresInDays: null, environmentId: null },
      productionOnly: false,
    });
    const url = signed(3600, undefined, `t.${view.id}`);
    expect((await rawRequest(url)).status).toBe(200);
    await revokeApiToken(h.handle.db, { actor: owner, tokenId: view.id });
    expect((await rawRequest(url)).status).toBe(403);
  });

  it("stops working when its maker may no longer download the file", async () => {
    const maker = { ...DEMO_PEOPLE.admin, sub: "ada-demoted", email: "demoted@acme.test" };
    const session = await createTestSession(h.handle.db, maker, h.secret);
    const url = signed(3600, undefined, `s.${session.sessionId}`);
    expect((await rawRequest(url)).status).toBe(200);
    // Their next sign-in brings the member group only: production downloads are for administrators.
    await upsertUserOnSignIn(h.handle.db, { id: maker.sub, email: maker.email, name: maker.name, groups: [DEMO_GROUPS.members] });
    const after = await rawRequest(url);
    expect(after.status).toBe(403);
    expect((JSON.parse(after.body.toString()) as { error: { message: string } }).error.message).toMatch(/may no longer download this file/);
  });

  it("answers 403 JSON for an expired link and for an edited one, with different messages", async () => {
    const expired = signed(60, new Date(Date.now() - 2 * 60_000));
    const late = await rawRequest(expired);
    expect(late.status).toBe(403);
    expect(late.headers["content-type"]).toMatch(/application\/json/);
    const lateBody = JSON.parse(late.body.toString()) as { error: { code: string; message: string } };
    expect(lateBody.error.code).toBe("forbidden");
    expect(lateBody.error.message).toMatch(/This download link has expired/);

    const url = new URL(signed(3600));
    url.pathname = url.pathname.replace("/database/", "/volume/");
    const tampered = await rawRequest(url.toString());
    expect(tampered.status).toBe(403);
    expect((JSON.parse(tampered.body.toString()) as { error: { message: string } }).error.message).toMatch(/This download link is not valid/);
  });

  it("still wants a session or token without a signature", async () => {
    expect((await rawRequest(`${h.baseUrl}/backup/download/database/${BACKUP_ID}`)).status).toBe(401);
  });
});
