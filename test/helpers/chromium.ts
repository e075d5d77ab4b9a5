/**
 * The Chromium a browser test drives (scripts/prove/browser-run.ts finds it), or the test is
 * skipped with a line saying what to install.
 */
import { findChromium } from "../../scripts/prove/browser-run.ts";

/** The Chromium's executable path; skips the calling test (or hook) where there is none. */
export async function chromiumOrSkip(ctx: Mocha.Context): Promise<string> {
  const chromium = await findChromium();
  if ("missing" in chromium) {
    console.log(`    skipped: ${chromium.missing}`);
    ctx.skip();
  }
  return chromium.executablePath;
}
