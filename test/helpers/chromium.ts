/**
 * A real headless Chromium for browser tests, driven by playwright-core: Debian's /usr/bin/chromium
 * (`apt-get install chromium`, which .ci/run does), or `CHROMIUM_BIN`. Each launch gets a fresh profile
 * in a temporary folder, removed by `close()`.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";

/** The Chromium binary, or undefined when there is none: `CHROMIUM_BIN`, else Debian's. */
export const chromiumBin: string | undefined = [process.env.CHROMIUM_BIN, "/usr/bin/chromium", "/usr/bin/chromium-browser"].find((path) => path !== undefined && path !== "" && existsSync(path));

/** Why browser tests skip, or undefined when they run. */
export const noChromium: string | undefined =
  chromiumBin === undefined ? "no Chromium found (set CHROMIUM_BIN, or apt-get install chromium as .ci/run does): browser tests skipped" : undefined;

export interface HeadlessChromium {
  readonly context: BrowserContext;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/** Launch Chromium headless with a fresh profile, no network services of its own and no sandbox (CI runs as root). */
export async function launchChromium(): Promise<HeadlessChromium> {
  if (chromiumBin === undefined) throw new Error(noChromium);
  const profile = await mkdtemp(join(tmpdir(), "mqtt-contracts-chromium-"));
  let context: BrowserContext;
  try {
    // playwright-core passes --headless and --user-data-dir (the fresh profile) itself.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumBin,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      timeout: 60_000,
    });
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
  return {
    context,
    newPage: () => context.newPage(),
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
