import { formatBytes, formatDuration } from "../lib/format";

import { expect, test } from "./fixtures";

const DAY = 24 * 60 * 60 * 1000;

interface Listed {
  id: string;
  status: string;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  files: { kind: "database" | "volume"; size: number }[];
}

test("the Backups page draws the environment's history — sizes, durations, each day's outcome — and says the same in words and a table", async ({
  signInPage,
  backupsPage,
  page,
}) => {
  // The charts draw under the pages' own Content-Security-Policy (nonce scripts, inline style attributes only).
  const refused: string[] = [];
  page.on("console", (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) refused.push(message.text());
  });
  await signInPage.signIn("Max Member", "/projects/acme/prd/backups");
  // What the pictures must show, from the list of the same backups: those of the last 30 days.
  const listed = ((await (await page.request.get("/api/v1/projects/acme/environments/prd/backups?per_page=100")).json()).response as Listed[]).filter(
    (b) => Date.parse(b.created_at) > Date.now() - 30 * DAY,
  );
  const completed = listed.filter((b) => b.status === "completed");
  const failed = listed.filter((b) => b.status === "failed");
  expect(completed.length).toBeGreaterThan(1);
  expect(failed.length).toBeGreaterThan(0);
  const newest = completed[0]!;
  const size = (kind: "database" | "volume") => newest.files.find((f) => f.kind === kind)!.size;
  const took = (Date.parse(newest.completed_at!) - Date.parse(newest.started_at ?? newest.created_at)) / 1000;

  const history = backupsPage.history;
  await expect(history.getByRole("note", { name: "History summary" })).toHaveText(
    new RegExp(
      `^${listed.length} backups in the last 30 days: ${completed.length} completed, ${failed.length} failed\\. ` +
        `The newest completed one \\(.+\\) has a ${formatBytes(size("database"))} database and a ${formatBytes(size("volume"))} document library ` +
        `and took ${formatDuration(took)}\\.`,
    ),
  );

  // The pictures: SVG drawn in the browser, one dot per completed backup and file, one bar per day and outcome.
  const sizes = history.getByRole("figure", { name: "Size of each completed backup" });
  await expect(sizes.locator("svg.recharts-surface").first()).toBeVisible();
  await expect(sizes.locator(".recharts-line-dot")).toHaveCount(completed.length * 2);
  await expect(sizes).toContainText("Database (.gz)");
  const durations = history.getByRole("figure", { name: "How long each backup took" });
  await expect(durations.locator(".recharts-line-dot")).toHaveCount(completed.length);
  const perDay = history.getByRole("figure", { name: "Completed and failed backups per day (UTC)" });
  const days = (list: Listed[]) => new Set(list.map((b) => b.created_at.slice(0, 10))).size;
  await expect(perDay.locator("path.recharts-rectangle[name='Completed']")).toHaveCount(days(completed));
  await expect(perDay.locator("path.recharts-rectangle[name='Failed']")).toHaveCount(days(failed));

  // The numbers behind them, for whoever would rather read.
  await history.getByText("The numbers behind the charts").click();
  const table = history.getByRole("table", { name: "Backups of the last 30 days, oldest first" });
  await expect(table.getByRole("row")).toHaveCount(listed.length + 1);
  await expect(table.getByRole("row").last()).toContainText(formatBytes(size("volume")));

  // A shorter period redraws from its own backups.
  await history.getByLabel("Period").selectOption("7");
  const lastWeek = listed.filter((b) => Date.parse(b.created_at) > Date.now() - 7 * DAY);
  await expect(history.getByRole("note", { name: "History summary" })).toContainText(
    `${lastWeek.length} ${lastWeek.length === 1 ? "backup" : "backups"} in the last 7 days`,
  );
  await expect(durations.locator(".recharts-line-dot")).toHaveCount(lastWeek.filter((b) => b.status === "completed").length);
  expect(refused).toEqual([]);
});
