import { existsSync } from "node:fs";
import path from "node:path";

import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createUploadSchema } from "@/app/api/v1/projects/[projectId]/environments/[environment]/uploads/schema";
import { completeUploadSchema } from "@/app/api/v1/uploads/[sessionId]/complete/schema";
import type { ExpansionLimits } from "@/lib/backups/verify";
import { documentLibraryTgz, gz, gzipBombDump, gzipBombVolume, mysqlDump, pgDump, rawTar } from "@/lib/backups/verify/testing";
import { listAuditEvents } from "@/lib/db/queries/audit";
import { acquireEnvironmentLock, getEnvironmentLock, releaseEnvironmentLock } from "@/lib/db/queries/locks";
import { backupFiles, backups, environmentLocks, environments, uploadParts, uploads, uploadSessions } from "@/lib/db/schema";
import type { AppError } from "@/lib/errors";

import { completeUploadSession } from "./complete";
import type { CompletionOutcome } from "./complete";
import type { CreateUploadInput } from "./files";
import { DEFAULT_UPLOAD_LIMITS, MiB } from "./limits";
import { uploadLockHolder } from "./lock-message";
import { expireAbandonedUploads, failStaleCompletions, STALE_COMPLETION_REASON } from "./maintenance";
import { abortUploadSession, createUploadSession, getUploadSession } from "./sessions";
import { chunkedPut, describeFiles, dropMidway, partUrl, putPart, rawPut, sha256, startHarness, uploadOf } from "./testing";
import type { Harness, StorageDriver, TestUser } from "./testing";
import type { UploadSessionView } from "./view";

// S3's minimum part size; with it a 12 MiB database file is three parts (5 + 5 + 2 MiB).
const LIMITS = { minPartSize: 5 * MiB };

async function caught(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toMatchObject({ name: "AppError" });
  return error as AppError;
}

function runProtocolTests(driver: StorageDriver, database: "pglite" | "postgres" = "pglite") {
  let h: Harness;
  let files: { database: Buffer; volume: Buffer };
  let counter = 0;

  beforeAll(async () => {
    h = await startHarness({ driver, database });
    files = { database: gz(pgDump({ filler: 12 * MiB }), { level: 0 }), volume: await documentLibraryTgz() };
  });
  afterAll(async () => {
    await h?.close();
  });

  /** A fresh session for these bytes; distinct names, so it never resumes another test's session. */
  async function start(
    content: { database: Buffer; volume: Buffer } = files,
    { user = h.users.admin, env = "prd" }: { user?: TestUser; env?: string } = {},
  ): Promise<{ session: UploadSessionView; input: CreateUploadInput }> {
    counter++;
    const input = describeFiles(content, { database: `database-${counter}.gz`, volume: `volume-${counter}.tgz` });
    const { session, resumed } = await createUploadSession({
      db: h.handle.db,
      storage: h.storage,
      actor: user.actor,
      environment: await h.environment(env),
      input,
      limits: LIMITS,
    });
    expect(resumed).toBe(false);
    return { session, input };
  }

  async function sendAll(session: UploadSessionView, content = files, user = h.users.admin): Promise<void> {
    for (const kind of ["database", "volume"] as const) {
      const upload = uploadOf(session, kind);
      const numbers = Array.from({ length: upload.partCount }, (_, i) => i + 1);
      const replies = await Promise.all(numbers.map((n) => putPart(h, user, upload, content[kind], n)));
      for (const reply of replies) expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    }
  }

  async function complete(session: UploadSessionView, content = files, user = h.users.admin, expansion?: ExpansionLimits) {
    return completeUploadSession({
      db: h.handle.db,
      storage: h.storage,
      actor: user.actor,
      sessionId: session.id,
      input: { database: { sha256: sha256(content.database) }, volume: { sha256: sha256(content.volume) } },
      productionOnly: false,
      limits: LIMITS,
      expansion,
    });
  }

  async function view(sessionId: string, user = h.users.admin): Promise<UploadSessionView> {
    return getUploadSession({ db: h.handle.db, actor: user.actor, sessionId, productionOnly: false, limits: LIMITS });
  }

  async function backupsOf(env = "prd") {
    const environment = await h.environment(env);
    return h.handle.db.select().from(backups).where(eq(backups.environmentId, environment.id));
  }

  async function partRows(session: UploadSessionView) {
    const ids = session.uploads.map((u) => u.id);
    const rows = await h.handle.db.select().from(uploadParts);
    return rows.filter((r) => ids.includes(r.uploadId));
  }

  async function objectsGone(session: UploadSessionView): Promise<void> {
    const rows = await h.handle.db.select().from(uploads).where(eq(uploads.sessionId, session.id));
    for (const row of rows) {
      expect(await h.storage.stat(row.storageKey)).toBeNull();
      // s3rver has no AbortMultipartUpload (the driver tolerates that); the local driver's parts must be gone.
      if (h.localRoot) expect(existsSync(path.join(h.localRoot, "multipart", row.storageUploadId))).toBe(false);
    }
    expect(await partRows(session)).toEqual([]);
  }

  it("turns parts sent in parallel, out of order and twice into a verified backup with its manifest", async () => {
    const { session } = await start();
    const database = uploadOf(session, "database");
    const volume = uploadOf(session, "volume");
    expect(database).toMatchObject({ partSize: 5 * MiB, partCount: 3, uploadedParts: [], size: files.database.length });
    expect(volume).toMatchObject({ partCount: 1, size: files.volume.length });

    const replies = await Promise.all([
      putPart(h, h.users.admin, database, files.database, 3),
      putPart(h, h.users.admin, database, files.database, 1),
      putPart(h, h.users.admin, volume, files.volume, 1),
      putPart(h, h.users.admin, database, files.database, 2),
      putPart(h, h.users.admin, database, files.database, 2), // a retry that raced the first attempt
    ]);
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(replies[0]?.body).toEqual({ partNumber: 3, size: files.database.length - 10 * MiB, sha256: sha256(files.database.subarray(10 * MiB)) });

    const listed = await view(session.id);
    expect(uploadOf(listed, "database").uploadedParts.map((p) => p.partNumber)).toEqual([1, 2, 3]);
    expect(uploadOf(listed, "database").uploadedBytes).toBe(files.database.length);

    const { session: completing, completion } = await complete(session);
    expect(completing.status).toBe("completing");
    const outcome = await completion;
    expect(outcome.status).toBe("completed");
    const backupId = (outcome as Extract<CompletionOutcome, { status: "completed" }>).backupId;
    expect(backupId).toMatch(/^acme-[a-z]{18}-\d{12}$/);

    const [backup] = await h.handle.db.select().from(backups).where(eq(backups.id, backupId));
    expect(backup).toMatchObject({
      origin: "uploaded",
      status: "completed",
      verifyStatus: "passed",
      dbEngine: "postgresql",
      createdBy: "alice@acme.test",
      totalBytes: files.database.length + files.volume.length,
    });
    expect(backup?.verifyResult).toMatch(
      /^database-\d+\.gz: PostgreSQL dump \(pg_dump 16\.4, server 16\.4\), 3 tables, 12 MiB uncompressed; SHA-256 verified\.\nvolume-\d+\.tgz: 2 files in 4 folders under document_library\/, 57 B; SHA-256 verified\.$/,
    );
    expect(backup?.manifest).toEqual({
      version: 1,
      backupId,
      createdAt: expect.any(String),
      createdBy: "alice@acme.test",
      origin: "uploaded",
      parentId: null,
      database: { engine: "postgresql", serverVersion: "16.4", dumpTool: "pg_dump 16.4" },
      files: [
        { kind: "database", name: "database.gz", size: files.database.length, sha256: sha256(files.database) },
        { kind: "volume", name: "volume.tgz", size: files.volume.length, sha256: sha256(files.volume) },
      ],
    });
    const stored = await h.handle.db.select().from(backupFiles).where(eq(backupFiles.backupId, backupId));
    expect(stored).toHaveLength(2);
    for (const file of stored) {
      const object = await h.storage.getObject(file.storageKey);
      const chunks: Buffer[] = [];
      for await (const chunk of object) chunks.push(chunk as Buffer);
      expect(sha256(Buffer.concat(chunks))).toBe(file.sha256);
    }

    const after = await view(session.id);
    expect(after).toMatchObject({ status: "completed", backupId, statusReason: null, verification: { status: "passed", result: backup?.verifyResult } });
    expect(await getEnvironmentLock(h.handle.db, { environmentId: (await h.environment("prd")).id })).toBeUndefined();
    const audit = await listAuditEvents(h.handle.db, { environmentId: (await h.environment("prd")).id });
    expect(audit.find((e) => e.action === "backup.upload" && e.backupId === backupId)).toBeTruthy();

    // Done is done: no more parts, no second completion.
    expect((await putPart(h, h.users.admin, database, files.database, 1)).status).toBe(409);
    expect((await caught(complete(session))).status).toBe(409);
  });

  it("refuses a part whose bytes do not match its SHA-256 (422) and does not record it", async () => {
    const { session } = await start();
    const database = uploadOf(session, "database");
    const good = files.database.subarray(0, 5 * MiB);
    expect((await putPart(h, h.users.admin, database, files.database, 2)).status).toBe(200);

    const damaged = Buffer.from(good);
    damaged[12345] = (damaged[12345] ?? 0) ^ 0xff;
    const reply = await putPart(h, h.users.admin, database, files.database, 1, { body: damaged, sha256: sha256(good) });
    expect(reply.status).toBe(422);
    expect(reply.body.error).toMatchObject({
      code: "unprocessable",
      details: { partNumber: 1, expected: sha256(good), actual: sha256(damaged) },
    });
    expect(reply.body.error?.message).toMatch(
      /^Part 1 of database-\d+\.gz arrived damaged: its SHA-256 is [0-9a-f]{64}, but X-Part-SHA256 says [0-9a-f]{64}\. It was not stored; send the part again\.$/,
    );
    expect(uploadOf(await view(session.id), "database").uploadedParts.map((p) => p.partNumber)).toEqual([2]);

    // A damaged resend of a part already stored: refused, and the part is listed as missing until sent again whole.
    const resend = await putPart(h, h.users.admin, database, files.database, 2, { sha256: "0".repeat(64) });
    expect(resend.status).toBe(422);
    expect(uploadOf(await view(session.id), "database").uploadedParts).toEqual([]);

    for (const n of [1, 2, 3]) expect((await putPart(h, h.users.admin, database, files.database, n)).status).toBe(200);
    await putPart(h, h.users.admin, uploadOf(session, "volume"), files.volume, 1);
    const { completion } = await complete(session);
    expect(await completion).toEqual({ status: "completed", backupId: expect.any(String) });
  });

  it("answers 413 to an oversized part before reading its body", async () => {
    const { session } = await start();
    const database = uploadOf(session, "database");
    const started = Date.now();
    const reply = await rawPut(partUrl(h.baseUrl, database.id, 1), {
      headers: { ...h.users.admin.browser, "x-part-sha256": "a".repeat(64) },
      contentLength: 5 * MiB + 1,
      body: Buffer.alloc(1024), // then nothing: the server must answer without waiting for the rest
    });
    expect(reply.status).toBe(413);
    expect(reply.body.error).toMatchObject({ code: "payload_too_large", details: { maxPartSize: 5 * MiB } });
    expect(reply.headers.connection).toBe("close");
    expect(Date.now() - started).toBeLessThan(5000);
    expect(uploadOf(await view(session.id), "database").uploadedParts).toEqual([]);
  });

  it("answers 400 to a wrong part number, a wrong length or a missing checksum", async () => {
    const { session } = await start();
    const database = uploadOf(session, "database");
    const headers = { ...h.users.admin.browser, "x-part-sha256": "a".repeat(64) };
    for (const n of ["0", "4", "abc", "99999"]) {
      const reply = await rawPut(partUrl(h.baseUrl, database.id, n), { headers, contentLength: 10, body: Buffer.alloc(0) });
      expect(reply.status, n).toBe(400);
      expect(reply.body.error?.message).toMatch(/has parts 1 to 3; there is no part/);
    }
    const short = await rawPut(partUrl(h.baseUrl, database.id, 2), { headers, contentLength: 5 * MiB - 1, body: Buffer.alloc(0) });
    expect(short.status).toBe(400);
    expect(short.body.error?.message).toBe(`Part 2 of ${database.fileName} must be exactly ${5 * MiB} bytes; the request announces ${5 * MiB - 1}.`);
    const last = await rawPut(partUrl(h.baseUrl, database.id, 3), { headers, contentLength: 5 * MiB, body: Buffer.alloc(0) });
    expect(last.status).toBe(400);
    const noHash = await rawPut(partUrl(h.baseUrl, database.id, 1), { headers: { ...h.users.admin.browser }, body: Buffer.alloc(16) });
    expect(noHash.status).toBe(400);
    expect(noHash.body.error?.message).toMatch(/X-Part-SHA256/);
    expect(await chunkedPut(partUrl(h.baseUrl, database.id, 1), headers, Buffer.alloc(100))).toBe(400);
  });

  it("records nothing for a part whose connection dropped, and takes the retry", async () => {
    const { session } = await start();
    const database = uploadOf(session, "database");
    const body = files.database.subarray(0, 5 * MiB);
    const headers = { ...h.users.admin.browser, "x-part-sha256": sha256(body) };
    await dropMidway(h, partUrl(h.baseUrl, database.id, 1), headers, body, 3 * MiB);
    // The server is done with the dropped part: had it recorded the part, it would have by now.
    await h.handlers.settled();
    expect(uploadOf(await view(session.id), "database").uploadedParts).toEqual([]);

    expect((await putPart(h, h.users.admin, database, files.database, 1)).status).toBe(200);
    // And a drop while resending a part that is already stored: it must be sent again.
    await dropMidway(h, partUrl(h.baseUrl, database.id, 1), headers, body, 2 * MiB);
    await h.handlers.settled();
    expect((await putPart(h, h.users.admin, database, files.database, 1)).status).toBe(200);
    for (const n of [2, 3]) expect((await putPart(h, h.users.admin, database, files.database, n)).status).toBe(200);
    await putPart(h, h.users.admin, uploadOf(session, "volume"), files.volume, 1);
    expect(await (await complete(session)).completion).toEqual({ status: "completed", backupId: expect.any(String) });
  });

  it("answers 401 without a session, 403 to a member, 404 to someone without a role", async () => {
    const { session } = await start();
    const database = uploadOf(session, "database");
    const body = files.database.subarray(0, 5 * MiB);
    const anonymous = await rawPut(partUrl(h.baseUrl, database.id, 1), { headers: { "x-part-sha256": sha256(body) }, body });
    expect(anonymous.status).toBe(401);
    const forged = await rawPut(partUrl(h.baseUrl, database.id, 1), {
      headers: { cookie: "next-auth.session-token=not-a-token", "x-part-sha256": sha256(body) },
      body,
    });
    expect(forged.status).toBe(401);
    expect((await putPart(h, h.users.member, database, files.database, 1)).status).toBe(403);
    expect((await putPart(h, h.users.stranger, database, files.database, 1)).status).toBe(404);
    // Another administrator of the environment may help finish it.
    expect((await putPart(h, h.users.otherAdmin, database, files.database, 1)).status).toBe(200);

    expect((await caught(view(session.id, h.users.member))).status).toBe(403);
    expect((await caught(view(session.id, h.users.stranger))).status).toBe(404);
    const member = caught(
      createUploadSession({
        db: h.handle.db,
        storage: h.storage,
        actor: h.users.member.actor,
        environment: await h.environment("prd"),
        input: describeFiles(files),
      }),
    );
    expect((await member).status).toBe(403);
    expect(uploadOf(await view(session.id), "database").uploadedParts).toHaveLength(1);
  });

  it("refuses to complete while parts are missing, listing them", async () => {
    const { session } = await start();
    await putPart(h, h.users.admin, uploadOf(session, "database"), files.database, 2);
    const error = await caught(complete(session));
    expect(error.status).toBe(409);
    expect(error.message).toBe(
      `${uploadOf(session, "database").fileName} is missing parts 1, 3 (of 3); ${uploadOf(session, "volume").fileName} is missing part 1 (of 1). Send them, then complete the upload.`,
    );
    expect(error.details).toEqual({ missingParts: { database: [1, 3], volume: [1] } });
    expect((await view(session.id)).status).toBe("open");
  });

  it("aborts: parts are deleted and the session takes no more", async () => {
    const { session } = await start();
    const database = uploadOf(session, "database");
    await putPart(h, h.users.admin, database, files.database, 1);
    expect(await partRows(session)).toHaveLength(1);

    await abortUploadSession({ db: h.handle.db, storage: h.storage, actor: h.users.admin.actor, sessionId: session.id, productionOnly: false });
    expect(await view(session.id)).toMatchObject({ status: "aborted", statusReason: "Cancelled by alice@acme.test." });
    await objectsGone(session);
    const reply = await putPart(h, h.users.admin, database, files.database, 2);
    expect(reply.status).toBe(410);
    expect(reply.body.error?.message).toMatch(/was cancelled/);
    // Cancelling twice is fine.
    await abortUploadSession({ db: h.handle.db, storage: h.storage, actor: h.users.admin.actor, sessionId: session.id, productionOnly: false });
  });

  it("expires abandoned uploads and deletes their parts; a part received postpones expiry", async () => {
    const { session } = await start();
    const database = uploadOf(session, "database");
    const hour = 60 * 60 * 1000;
    // 23 hours without a part: an hour to go.
    await h.handle.db
      .update(uploadSessions)
      .set({ expiresAt: new Date(Date.now() + hour) })
      .where(eq(uploadSessions.id, session.id));
    expect((await putPart(h, h.users.admin, database, files.database, 1)).status).toBe(200);
    const expiresAt = new Date((await view(session.id)).expiresAt).getTime();
    expect(expiresAt).toBeGreaterThan(Date.now() + 23 * hour);
    expect(await expireAbandonedUploads({ db: h.handle.db, storage: h.storage, now: new Date(Date.now() + 2 * hour) })).toBe(0);

    const dayAfter = new Date(Date.now() + 25 * hour);
    expect(await expireAbandonedUploads({ db: h.handle.db, storage: h.storage, now: dayAfter })).toBeGreaterThanOrEqual(1);
    expect(await view(session.id)).toMatchObject({
      status: "expired",
      statusReason: "No part arrived for a day; the upload expired and its parts were deleted.",
    });
    await objectsGone(session);
    const reply = await putPart(h, h.users.admin, database, files.database, 2);
    expect(reply.status).toBe(410);
    expect(reply.body.error?.message).toMatch(/expired after a day without activity/);
  });

  it("answers 409 naming the operation while the environment is locked, and changes nothing", async () => {
    const { session } = await start();
    await sendAll(session);
    const environment = await h.environment("prd");
    const holder = "restore:carol@acme.test:worker-1";
    const lock = await acquireEnvironmentLock(h.handle.db, {
      environmentId: environment.id,
      operation: "restore",
      holder,
      backupId: "acme-qwertyuiopasdfghjk-202405011000",
      ttlMs: 60_000,
    });
    expect(lock.acquired).toBe(true);
    try {
      const error = await caught(complete(session));
      expect(error.status).toBe(409);
      expect(error.code).toBe("conflict");
      expect(error.message).toMatch(
        /^acme-prd is busy: a restore of acme-qwertyuiopasdfghjk-202405011000 started by carol@acme\.test is running \(started \d{4}-\d\d-\d\d \d\d:\d\d UTC\)\. Only one backup, upload or restore runs in an environment at a time/,
      );
      expect((await view(session.id)).status).toBe("open");
      expect(await partRows(session)).toHaveLength(4);

      const refused = await caught(
        createUploadSession({
          db: h.handle.db,
          storage: h.storage,
          actor: h.users.admin.actor,
          environment,
          input: describeFiles(files, { database: "x.gz", volume: "x.tgz" }),
        }),
      );
      expect(refused.status).toBe(409);
    } finally {
      await releaseEnvironmentLock(h.handle.db, { environmentId: environment.id, holder });
    }
    // While our own upload is being generated, another generation in the environment is refused too.
    const other = await start();
    await sendAll(other.session);
    const first = await complete(session);
    const second = await caught(complete(other.session));
    expect(second.status).toBe(409);
    expect(second.message).toMatch(/^acme-prd is busy: a backup is being generated from an upload by alice@acme\.test/);
    expect(await first.completion).toMatchObject({ status: "completed" });
    expect(await (await complete(other.session)).completion).toMatchObject({ status: "completed" });
  });

  it("fails a corrupt database.gz with the reason, and leaves nothing behind", async () => {
    const corrupt = { database: Buffer.concat([files.database.subarray(0, 8 * MiB), Buffer.alloc(10)]), volume: files.volume };
    const before = (await backupsOf()).length;
    const { session } = await start(corrupt);
    await sendAll(session, corrupt);
    const outcome = await (await complete(session, corrupt)).completion;
    expect(outcome).toEqual({
      status: "failed",
      reason: `${uploadOf(session, "database").fileName} is not a valid gzip file: unexpected end of file (the file is cut short)`,
    });
    expect(await view(session.id)).toMatchObject({ status: "failed", statusReason: outcome.status === "failed" ? outcome.reason : "", backupId: null });
    expect((await backupsOf()).length).toBe(before);
    await objectsGone(session);
    expect(await getEnvironmentLock(h.handle.db, { environmentId: (await h.environment("prd")).id })).toBeUndefined();
    const audit = await listAuditEvents(h.handle.db, { environmentId: (await h.environment("prd")).id });
    expect(audit.find((e) => e.action === "backup.upload_failed" && (e.detail as { sessionId?: string }).sessionId === session.id)).toBeTruthy();
  });

  it("refuses gzip bombs (64 MiB from ~64 KiB each) with the setting to raise, and leaves nothing behind", async () => {
    const bombs = { database: gzipBombDump(), volume: gzipBombVolume() };
    const before = (await backupsOf()).length;
    const { session } = await start(bombs);
    await sendAll(session, bombs);
    // The shipped defaults, MAX_EXPANDED_SIZE=4TiB and MAX_EXPANSION_RATIO=200.
    const outcome = await (await complete(session, bombs, h.users.admin, { maxBytes: 4 * 1024 ** 4, maxRatio: 200 })).completion;
    const advice = "If the file is genuine, an administrator of the Lifeboat server can raise MAX_EXPANSION_RATIO (0 turns the limit off).";
    expect(outcome).toEqual({
      status: "failed",
      reason: [
        `${uploadOf(session, "database").fileName} expands to more than 200× its size (MAX_EXPANSION_RATIO), which is how a gzip bomb looks. ${advice}`,
        `${uploadOf(session, "volume").fileName} expands to more than 200× its size (MAX_EXPANSION_RATIO), which is how a gzip bomb looks. ${advice}`,
      ].join(" "),
    });
    expect(await view(session.id)).toMatchObject({ status: "failed", backupId: null });
    expect((await backupsOf()).length).toBe(before);
    await objectsGone(session);
    expect(await getEnvironmentLock(h.handle.db, { environmentId: (await h.environment("prd")).id })).toBeUndefined();
  });

  it("fails a volume with a ../ entry, and leaves nothing behind", async () => {
    const evil = {
      database: gz(pgDump()),
      volume: gz(
        rawTar([
          { path: "document_library/", type: "Directory" },
          { path: "document_library/../../etc/cron.d/x", body: "* * * * * root sh" },
        ]),
      ),
    };
    const before = (await backupsOf()).length;
    const { session } = await start(evil);
    await sendAll(session, evil);
    const outcome = await (await complete(session, evil)).completion;
    expect(outcome.status).toBe("failed");
    expect((outcome as { reason: string }).reason).toMatch(
      /^volume-\d+\.tgz has an unsafe entry "document_library\/\.\.\/\.\.\/etc\/cron\.d\/x": it contains “\.\.”/,
    );
    expect((await backupsOf()).length).toBe(before);
    await objectsGone(session);
  });

  it("reports every file that fails, and a whole-file checksum that does not match", async () => {
    const bad = { database: gz("just some text, not a dump\n"), volume: files.volume };
    const { session } = await start(bad);
    await sendAll(session, bad);
    const outcome = await (
      await completeUploadSession({
        db: h.handle.db,
        storage: h.storage,
        actor: h.users.admin.actor,
        sessionId: session.id,
        input: { database: { sha256: sha256(bad.database) }, volume: { sha256: "f".repeat(64) } },
        productionOnly: false,
      })
    ).completion;
    expect(outcome.status).toBe("failed");
    const reason = (outcome as { reason: string }).reason;
    expect(reason).toContain("does not look like a SQL dump");
    expect(reason).toContain(`${uploadOf(session, "volume").fileName} changed on the way: the stored file's SHA-256 is ${sha256(files.volume)}`);
    await objectsGone(session);
  });

  it("resumes after a restart from the parts already stored", async () => {
    const input = describeFiles(files, { database: "resume.gz", volume: "resume.tgz" });
    const environment = await h.environment("prd");
    const created = await createUploadSession({ db: h.handle.db, storage: h.storage, actor: h.users.admin.actor, environment, input, limits: LIMITS });
    expect(created.resumed).toBe(false);
    const database = uploadOf(created.session, "database");
    await putPart(h, h.users.admin, database, files.database, 1);
    await putPart(h, h.users.admin, database, files.database, 3);

    await h.restart();

    // The same person picks the same files again.
    const again = await createUploadSession({ db: h.handle.db, storage: h.storage, actor: h.users.admin.actor, environment, input, limits: LIMITS });
    expect(again.resumed).toBe(true);
    expect(again.session.id).toBe(created.session.id);
    expect(uploadOf(again.session, "database").uploadedParts).toEqual([
      { partNumber: 1, size: 5 * MiB, sha256: sha256(files.database.subarray(0, 5 * MiB)) },
      { partNumber: 3, size: files.database.length - 10 * MiB, sha256: sha256(files.database.subarray(10 * MiB)) },
    ]);
    // Someone else, or other files, get a session of their own.
    const otherUser = await createUploadSession({ db: h.handle.db, storage: h.storage, actor: h.users.otherAdmin.actor, environment, input, limits: LIMITS });
    expect(otherUser.resumed).toBe(false);
    await abortUploadSession({ db: h.handle.db, storage: h.storage, actor: h.users.otherAdmin.actor, sessionId: otherUser.session.id, productionOnly: false });

    const after = again.session;
    expect((await putPart(h, h.users.admin, uploadOf(after, "database"), files.database, 2)).status).toBe(200);
    expect((await putPart(h, h.users.admin, uploadOf(after, "volume"), files.volume, 1)).status).toBe(200);
    expect(await (await complete(after)).completion).toMatchObject({ status: "completed" });
  });
}

describe.each(["local", "s3"] as const)("upload protocol on %s storage", (driver) => {
  runProtocolTests(driver);
});

describe("upload protocol on PostgreSQL (local storage)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ driver: "local", database: "postgres" });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("completes the happy path", async () => {
    const files = { database: gz(pgDump()), volume: await documentLibraryTgz() };
    const environment = await h.environment("uat");
    const { session } = await createUploadSession({
      db: h.handle.db,
      storage: h.storage,
      actor: h.users.admin.actor,
      environment,
      input: describeFiles(files),
    });
    expect(uploadOf(session, "database")).toMatchObject({ partSize: DEFAULT_UPLOAD_LIMITS.minPartSize, partCount: 1 });
    for (const kind of ["database", "volume"] as const) {
      expect((await putPart(h, h.users.admin, uploadOf(session, kind), files[kind], 1)).status).toBe(200);
    }
    const { completion } = await completeUploadSession({
      db: h.handle.db,
      storage: h.storage,
      actor: h.users.admin.actor,
      sessionId: session.id,
      input: { database: { sha256: sha256(files.database) }, volume: { sha256: sha256(files.volume) } },
      productionOnly: false,
    });
    const outcome = await completion;
    expect(outcome.status).toBe("completed");
    const [backup] = await h.handle.db
      .select()
      .from(backups)
      .where(eq(backups.id, (outcome as { backupId: string }).backupId));
    expect(backup).toMatchObject({ origin: "uploaded", status: "completed", verifyStatus: "passed", environmentId: environment.id });
  });
});

describe("upload sessions and verification outcomes (local storage)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ driver: "local" });
  });
  afterAll(async () => {
    await h?.close();
  });

  async function uploadAndComplete(env: string, files: { database: Buffer; volume: Buffer }, names?: { database: string; volume: string }) {
    const environment = await h.environment(env);
    const { session } = await createUploadSession({
      db: h.handle.db,
      storage: h.storage,
      actor: h.users.admin.actor,
      environment,
      input: describeFiles(files, names),
    });
    for (const kind of ["database", "volume"] as const) {
      expect((await putPart(h, h.users.admin, uploadOf(session, kind), files[kind], 1)).status).toBe(200);
    }
    const { completion } = await completeUploadSession({
      db: h.handle.db,
      storage: h.storage,
      actor: h.users.admin.actor,
      sessionId: session.id,
      input: { database: { sha256: sha256(files.database) }, volume: { sha256: sha256(files.volume) } },
      productionOnly: false,
    });
    return { session, outcome: await completion };
  }

  it("checks the two files' names and sizes before anything is stored", async () => {
    const environment = await h.environment("prd");
    const attempt = (input: CreateUploadInput) =>
      caught(createUploadSession({ db: h.handle.db, storage: h.storage, actor: h.users.admin.actor, environment, input }));
    const ok = { fileName: "volume.tgz", size: 10 };
    expect((await attempt({ database: { fileName: "dump.sql", size: 10 }, volume: ok })).message).toBe(
      "dump.sql cannot be the database file: it must be a gzip'd SQL dump ending in .gz, like database.gz (not a .tar.gz or .tgz).",
    );
    expect((await attempt({ database: { fileName: "database.tar.gz", size: 10 }, volume: ok })).status).toBe(400);
    expect((await attempt({ database: { fileName: "database.gz", size: 10 }, volume: { fileName: "volume.zip", size: 10 } })).message).toMatch(
      /^volume\.zip cannot be the document library file: it must be a gzip'd tar of document_library ending in \.tgz or \.tar\.gz/,
    );
    expect((await attempt({ database: { fileName: "database.gz", size: 0 }, volume: ok })).status).toBe(400);
    const huge = await attempt({ database: { fileName: "database.gz", size: 2 * 1024 ** 4 }, volume: ok });
    expect(huge).toMatchObject({ status: 413, message: "database.gz is 2.00 TiB; files of up to 1 TiB can be uploaded." });
    expect((await attempt({ database: { fileName: "../database.gz", size: 10 }, volume: ok })).status).toBe(400);

    const schema = createUploadSchema.safeParse({
      database: { fileName: "database.gz", size: 1 },
      volume: { fileName: "volume.tar.gz", size: 1, lastModified: 1 },
    });
    expect(schema.success).toBe(true);
    expect(createUploadSchema.safeParse({ database: { fileName: "database.tgz", size: 1 }, volume: ok }).success).toBe(false);
    expect(completeUploadSchema.safeParse({ database: { sha256: "x" }, volume: { sha256: "a".repeat(64) } }).success).toBe(false);
  });

  it("answers 404 for a session id that is not one, and 422 when the whole-file SHA-256 changed since the start", async () => {
    const actor = h.users.admin.actor;
    expect((await caught(getUploadSession({ db: h.handle.db, actor, sessionId: "0".repeat(36), productionOnly: false }))).status).toBe(404);
    const files = { database: gz(pgDump()), volume: await documentLibraryTgz() };
    const input = describeFiles(files, { database: "hashed.gz", volume: "hashed.tgz" });
    const { session } = await createUploadSession({
      db: h.handle.db,
      storage: h.storage,
      actor,
      environment: await h.environment("prd"),
      input: { database: { ...input.database, sha256: sha256(files.database) }, volume: input.volume },
    });
    for (const kind of ["database", "volume"] as const) await putPart(h, h.users.admin, uploadOf(session, kind), files[kind], 1);
    const error = await caught(
      completeUploadSession({
        db: h.handle.db,
        storage: h.storage,
        actor,
        sessionId: session.id,
        input: { database: { sha256: "b".repeat(64) }, volume: { sha256: sha256(files.volume) } },
        productionOnly: false,
      }),
    );
    expect(error.status).toBe(422);
    expect(error.message).toMatch(/^The SHA-256 of hashed\.gz sent now \(b{64}\) differs from the one sent when the upload started/);
    // In production-only mode a non-production session is invisible.
    const uat = await createUploadSession({ db: h.handle.db, storage: h.storage, actor, environment: await h.environment("uat"), input });
    expect((await caught(getUploadSession({ db: h.handle.db, actor, sessionId: uat.session.id, productionOnly: true }))).status).toBe(404);
  });

  it("keeps a MySQL dump with lower-case tables as a backup with a warning naming them", async () => {
    const environment = await h.environment("dev");
    await h.handle.db.update(environments).set({ dbEngine: "mysql" }).where(eq(environments.id, environment.id));
    const files = { database: gz(mysqlDump({ tables: ["User_", "user_", "layout"] })), volume: await documentLibraryTgz() };
    const { session, outcome } = await uploadAndComplete("dev", files);
    expect(outcome.status).toBe("completed");
    const [backup] = await h.handle.db
      .select()
      .from(backups)
      .where(eq(backups.id, (outcome as { backupId: string }).backupId));
    expect(backup?.verifyStatus).toBe("warning");
    expect(backup?.verifyResult).toContain(
      "Warning: 2 tables have all-lower-case names, but Liferay on MySQL expects Pascal case (User_, not user_): user_, layout.",
    );
    expect(backup?.manifest?.database).toEqual({ engine: "mysql", serverVersion: "8.0.36", dumpTool: "mysqldump 10.13 (Distrib 8.0.36)" });
    const polled = await getUploadSession({ db: h.handle.db, actor: h.users.admin.actor, sessionId: session.id, productionOnly: false });
    expect(polled.verification).toEqual({ status: "warning", result: backup?.verifyResult });
  });

  it("fails a dump from the wrong engine, saying which", async () => {
    const files = { database: gz(mysqlDump()), volume: await documentLibraryTgz() };
    const { outcome } = await uploadAndComplete("uat", files);
    expect(outcome).toEqual({
      status: "failed",
      reason: "database.gz is a MySQL/MariaDB dump, but acme-uat's database is PostgreSQL. Upload a dump of the PostgreSQL database.",
    });
  });

  it("fails a completion whose worker died once its lock lapses", async () => {
    const files = { database: gz(pgDump()), volume: await documentLibraryTgz() };
    const environment = await h.environment("prd");
    const { session } = await createUploadSession({
      db: h.handle.db,
      storage: h.storage,
      actor: h.users.admin.actor,
      environment,
      input: describeFiles(files, { database: "died.gz", volume: "died.tgz" }),
    });
    for (const kind of ["database", "volume"] as const) await putPart(h, h.users.admin, uploadOf(session, kind), files[kind], 1);
    // What a process that died mid-verification leaves: a completing session and its lock, no longer renewed.
    const holder = uploadLockHolder(session.id, "dead-worker");
    await acquireEnvironmentLock(h.handle.db, { environmentId: environment.id, operation: "upload", holder, ttlMs: 60_000 });
    await h.handle.db.update(uploadSessions).set({ status: "completing" }).where(eq(uploadSessions.id, session.id));

    expect(await failStaleCompletions({ db: h.handle.db, storage: h.storage })).toBe(0); // its lock is still live
    await h.handle.db
      .update(environmentLocks)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(and(eq(environmentLocks.environmentId, environment.id), eq(environmentLocks.holder, holder)));
    expect(await failStaleCompletions({ db: h.handle.db, storage: h.storage })).toBe(1);
    const [row] = await h.handle.db.select().from(uploadSessions).where(eq(uploadSessions.id, session.id));
    expect(row).toMatchObject({ status: "failed", statusReason: STALE_COMPLETION_REASON });
    expect(
      await h.handle.db
        .select()
        .from(uploadParts)
        .where(eq(uploadParts.uploadId, uploadOf(session, "database").id)),
    ).toEqual([]);
  });
});
