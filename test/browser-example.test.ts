/**
 * The browser example (examples/browser/, `npm run example:browser`) in a real headless Chromium: the one
 * command starts the embedded broker with WebSocket, the example agent and the page, and prints the page's
 * URL; the page connects over ws:// with the generated client, calls the example service and shows the answer.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Children } from "./helpers/child-process.js";
import { launchChromium, noChromium, type HeadlessChromium } from "./helpers/chromium.js";

const children = new Children();
afterEach(() => children.killAll());

if (noChromium !== undefined) console.warn(`test/browser-example.test.ts: ${noChromium}`);

describe.skipIf(noChromium !== undefined)("npm run example:browser in headless Chromium", () => {
  let browser: HeadlessChromium;
  beforeAll(async () => {
    browser = await launchChromium();
  }, 90_000);
  afterAll(() => browser?.close());

  it("serves a page whose generated client calls the example service over WebSocket and shows the answer", async () => {
    const example = children.start("npm", ["run", "--silent", "example:browser"]);
    const [, wsUrl] = await example.waitForStdout(/browsers reach at (ws:\/\/127\.0\.0\.1:\d+)\./, 90_000);
    const [, url] = await example.waitForStdout(/Open (http:\/\/127\.0\.0\.1:\d+\/) in a browser/, 30_000);

    const page = await browser.newPage();
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(message.text());
    });
    await page.goto(url!);
    const status = page.locator("#status");
    await status.and(page.locator("[data-state=connected]")).waitFor({ timeout: 30_000 });
    expect(await status.textContent()).toBe(`Connected to ${wsUrl}; calling the service at mqtt_example_agent`);

    await page.fill("#message", "Grüße aus Chromium ✓");
    await page.click("#echo button");
    const answer = page.locator("#answer[data-state=answered]");
    await answer.waitFor({ timeout: 30_000 });
    expect(await answer.textContent()).toBe("echo: Grüße aus Chromium ✓");
    expect(problems).toEqual([]);

    // Ctrl-C in a terminal signals the whole foreground group (npm, tsx and node); the child leads a group of its own.
    process.kill(-example.process.pid!, "SIGINT");
    const exit = await example.exit(30_000);
    expect(exit.stdout).toContain("SIGINT received; stopping");
  }, 180_000);
});
