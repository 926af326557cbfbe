/** Polls `check` until it holds; fails with `what` after `timeoutMs`. For a state a test cannot be told about. */
export async function until(check: () => Promise<boolean> | boolean, timeoutMs = 20_000, pollMs = 20, what = "the condition"): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
