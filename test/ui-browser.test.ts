/**
 * `mqtt-contracts ui` in a real headless Chromium: an embedded broker with WebSocket, the example agent
 * (examples/mqtt-example.ts, the `echo` service) as a process of its own, two instances of the robot arm
 * (contracts/robot-arm.ts, with a streaming method), and the page. Everything waits for what the page shows;
 * nothing sleeps. It takes two screenshots and checks they are PNGs; with MQTT_CONTRACTS_SCREENSHOTS=docs they go
 * to docs/ for the README (`MQTT_CONTRACTS_SCREENSHOTS=docs npx vitest run test/ui-browser.test.ts`), else to a
 * temporary folder, so that `npm test` leaves the checkout as it was.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBroker, type EmbeddedBroker } from "../src/broker/embedded-broker.js";
import { MqttCommunicator } from "../src/mqtt/mqtt-communicator.js";
import { registerRobotArmService, RobotArmOutOfReachError, type RobotArmServiceHandlers } from "../generated/robot_arm.js";
import { Children, type Child } from "./helpers/child-process.js";
import { launchChromium, noChromium, type HeadlessChromium } from "./helpers/chromium.js";
import { buildUiInTemp, runUi, type RunningUi } from "./helpers/ui.js";

const SLOW = 120_000;
const children = new Children();
const screenshots = process.env.MQTT_CONTRACTS_SCREENSHOTS === "docs" ? fileURLToPath(new URL("../docs/", import.meta.url)) : mkdtempSync(join(tmpdir(), "mqtt-contracts-ui-shots-"));
const PNG_SIGNATURE = "89504e470d0a1a0a";
/** Take a full-page screenshot into the screenshots folder, and check that a PNG came out. */
async function screenshot(name: string): Promise<void> {
  const path = join(screenshots, name);
  await page.screenshot({ path, fullPage: true });
  const png = readFileSync(path);
  expect(png.subarray(0, 8).toString("hex")).toBe(PNG_SIGNATURE);
  expect(png.byteLength).toBeGreaterThan(10_000);
}

let built: Awaited<ReturnType<typeof buildUiInTemp>>;
let broker: EmbeddedBroker;
let example: Child;
let arms: MqttCommunicator[] = [];
let hostile: MqttCommunicator;
/** Markup a hostile service puts in its description, schema titles, property names and enums. */
const XSS = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
let ui: RunningUi;
let chromium: HeadlessChromium;
let page: Page;
const pageErrors: string[] = [];
const armEvents: string[] = [];

function armHandlers(): RobotArmServiceHandlers {
  return {
    move_to(params) {
      if (params.target.x > 1.2) throw new RobotArmOutOfReachError({ max_reach_m: 1.2 });
      return { reached: params.target, duration_ms: 10, finished_at: new Date() };
    },
    async *move_with_feedback(params, context) {
      armEvents.push("stream started");
      context.signal.addEventListener("abort", () => armEvents.push("stream aborted"));
      for (let step = 1; step <= 600 && !context.signal.aborted; step++) {
        yield { x: (params.target.x * step) / 600, y: (params.target.y * step) / 600, progress: step / 600 };
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return { reached: params.target, duration_ms: 60_000 };
    },
    pick: () => ({ held: true }),
    joint_angles: () => [0, 0.5, -1.25],
    tool_info: () => null,
    status_changed: () => undefined,
  };
}

async function startArm(n: number): Promise<MqttCommunicator> {
  const arm = new MqttCommunicator({ agentName: `robot_arm_${n}`, options: { url: broker.url, topicPrefix: "robot_arm", sharedGroup: "arms" } });
  registerRobotArmService(arm, armHandlers());
  await arm.start();
  return arm;
}

describe.skipIf(noChromium !== undefined)("mqtt-contracts ui in Chromium", () => {
  beforeAll(async () => {
    built = await buildUiInTemp();
    broker = await startBroker({ wsPort: 0 });
    example = children.startTs("examples/mqtt-example.ts", ["--serve", "--url", broker.url]);
    arms = [await startArm(1), await startArm(2)];
    hostile = new MqttCommunicator({ agentName: "hostile", options: { url: broker.url } });
    hostile.registerHandler("evil", () => ({ html: XSS }), {
      kind: "method",
      description: XSS,
      params: {
        type: "object",
        title: XSS,
        properties: { [XSS]: { type: "string", description: XSS, default: XSS }, pick: { enum: [XSS, "b"], title: XSS }, link: { type: "string", format: "url", links: [{ href: "javascript:window.__pwned=3", rel: XSS }], options: { hidden: false }, headerTemplate: XSS } },
      },
    });
    await hostile.start();
    await example.waitForStdout(/serving on/, SLOW);
    ui = await runUi({ url: broker.wsUrl!, assetsDir: built.dir });
    chromium = await launchChromium();
    page = await chromium.newPage();
    await page.setViewportSize({ width: 1280, height: 900 });
    page.on("pageerror", (error) => pageErrors.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error") pageErrors.push(message.text());
    });
    await page.goto(ui.url);
  }, SLOW);

  afterAll(async () => {
    await chromium?.close();
    await ui?.stop();
    await Promise.all([...arms, hostile].map((arm) => arm?.stop()));
    await children.killAll();
    await broker?.close();
    await built?.remove();
  }, SLOW);

  const service = (prefix: string) => page.locator(`#services li.service-entry[data-prefix="${prefix}"]`);
  const method = (name: string) => page.locator(`#detail details.method[data-method="${name}"]`);

  async function open(prefix: string, name: string) {
    await service(prefix).locator("button.select-service").click();
    await page.locator(`#detail section.service[data-prefix="${prefix}"] .method-name`).first().waitFor();
    const details = method(name);
    if ((await details.getAttribute("open")) === null) await details.locator("summary").click();
    // Once the form library has built the form (it adds je-ready), the layout holds still for clicks.
    await details.locator(".params .form.je-ready").waitFor();
    return details;
  }

  async function setRaw(details: ReturnType<typeof method>, json: string) {
    await details.locator(".params .raw").fill(json);
  }

  it("lists both services and their instances from the discovery records", { timeout: SLOW }, async () => {
    await service("mqtt_example_agent").locator(".instance-entry").first().waitFor();
    await expect.poll(() => service("robot_arm").locator(".instance-entry").count(), { timeout: 30_000 }).toBe(2);
    expect(await service("mqtt_example_agent").locator(".instance-count").textContent()).toBe(" 1 instance");
    await expect.poll(() => page.locator("#status").textContent()).toMatch(/^connected to ws:\/\//);
  });

  it("calls echo through the form built from its schema and shows the answer", { timeout: SLOW }, async () => {
    const echo = await open("mqtt_example_agent", "echo");
    const input = echo.locator('.form [name="root[message]"]');
    await input.fill("hello from the browser");
    await input.blur();
        await expect.poll(() => echo.locator(".raw").inputValue()).toContain('"message": "hello from the browser"');
    await echo.locator("button.invoke").click();
    await expect.poll(() => echo.locator(".outcome pre.result").textContent(), { timeout: 30_000 }).toContain('"echo": "hello from the browser"');
  });

  it("shows a bad param's validation error at its field", { timeout: SLOW }, async () => {
    const echo = await open("mqtt_example_agent", "echo");
    await setRaw(echo, '{"message": 42}');
    await echo.locator("button.invoke").click();
    const issue = echo.locator('.field-issue[data-path="message"]');
    await issue.waitFor({ timeout: 30_000 });
    expect(await issue.textContent()).toMatch(/^message: .*string/i);
    // The mark sits in the message field's own container, which is outlined.
    expect(await issue.evaluate((node) => node.parentElement!.classList.contains("has-issue") && node.parentElement!.querySelector('[name="root[message]"]') !== null)).toBe(true);
    expect(await echo.locator(".error .error-code").textContent()).toBe("-32602");
  });

  it("sends a notification that reaches the service", { timeout: SLOW }, async () => {
    const log = await open("mqtt_example_agent", "log");
    await setRaw(log, '{"message": "note from the browser"}');
    await log.locator("button.invoke").click();
    await expect.poll(() => log.locator(".outcome").textContent(), { timeout: 30_000 }).toMatch(/^sent at /);
    await example.waitForStdout(/log notification handled: note from the browser/, 30_000);
  });

  it("shows each instance's rpc.stats as charts, with the calls made", { timeout: SLOW }, async () => {
    await service("mqtt_example_agent").locator("button.select-service").click();
    const summary = page.locator("#detail .instance-stats .stats-summary");
    await expect.poll(async () => Number(await summary.getAttribute("data-calls")), { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
    expect(await page.locator("#detail .instance-stats .chart-calls canvas").count()).toBe(1);
    expect(await page.locator("#detail .instance-stats .chart-latency canvas").count()).toBe(1);
    // The page's screenshot of a call: echo's form, raw JSON and answer, with the instance's charts.
    const echo = await open("mqtt_example_agent", "echo");
    await echo.locator(".form [name='root[message]']").fill("hello again");
    await echo.locator(".form [name='root[message]']").blur();
    await echo.locator("button.invoke").click();
    await expect.poll(() => echo.locator(".outcome pre.result").textContent(), { timeout: 30_000 }).toContain('"echo": "hello again"');
    await expect.poll(async () => Number(await summary.getAttribute("data-calls")), { timeout: 30_000 }).toBeGreaterThanOrEqual(3);
    await screenshot("ui-call.png");
  });

  it("shows an application error's code and data", { timeout: SLOW }, async () => {
    const moveTo = await open("robot_arm", "move_to");
    await setRaw(moveTo, '{"target": {"x": 5, "y": 0}}');
    await moveTo.locator("button.invoke").click();
    await moveTo.locator(".error .error-code").waitFor({ timeout: 30_000 });
    expect(await moveTo.locator(".error .error-code").textContent()).toBe("4001");
    expect(await moveTo.locator(".error .error-message").textContent()).toBe("The target is outside the arm's reach.");
    expect(JSON.parse((await moveTo.locator(".error .error-data").textContent())!)).toEqual({ max_reach_m: 1.2 });
  });

  it("shows a stream's items as they arrive, and Cancel stops it: the handler sees the abort", { timeout: SLOW }, async () => {
    const stream = await open("robot_arm", "move_with_feedback");
    await setRaw(stream, '{"target": {"x": 1, "y": 0.5}}');
    await stream.locator("button.invoke").click();
    await expect.poll(() => stream.locator(".outcome .items li").count(), { timeout: 30_000 }).toBeGreaterThanOrEqual(3);
    expect(JSON.parse((await stream.locator(".outcome .items li").first().textContent())!)).toMatchObject({ progress: expect.any(Number) });
    await stream.locator("button.cancel").click();
    await expect.poll(() => armEvents, { timeout: 30_000 }).toContain("stream aborted");
    await stream.locator(".outcome .error").waitFor({ timeout: 30_000 });
    expect(await stream.locator(".outcome .error").textContent()).toMatch(/RequestAbortedError: The caller cancelled the stream/);
    expect(await stream.locator("button.cancel").count()).toBe(0);
  });

  it("drops an instance that stops, and its stats chart", { timeout: SLOW }, async () => {
    await service("robot_arm").locator("button.select-service").click();
    await expect.poll(() => page.locator("#detail .instance-stats").count(), { timeout: 30_000 }).toBe(2);
    await expect.poll(async () => (await page.locator("#detail .instance-stats .stats-summary").allTextContents()).some((text) => /^\d+ call/.test(text)), { timeout: 30_000 }).toBe(true);
    await screenshot("ui-services.png");
    const stopped = arms.pop()!;
    await stopped.stop();
    await expect.poll(() => service("robot_arm").locator(".instance-entry").count(), { timeout: 30_000 }).toBe(1);
    await expect.poll(() => page.locator("#detail .instance-stats").count(), { timeout: 30_000 }).toBe(1);
  });

  it("keeps a password typed in the page out of the URL and out of storage", { timeout: SLOW }, async () => {
    const secret = "pa55-typed-in-page";
    await page.locator("#username").fill("alice");
    await page.locator("#password").fill(secret);
    await page.locator("#connect button[type=submit]").click();
    await expect.poll(() => page.locator("#status").textContent(), { timeout: 30_000 }).toMatch(/^connected to/);
    await service("mqtt_example_agent").waitFor({ timeout: 30_000 });
    expect(page.url()).not.toContain(secret);
    // Evaluated in the page, as text: this file is type-checked without the DOM.
    const stored = await page.evaluate<string>("JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, cookie: document.cookie, href: location.href })");
    expect(stored).not.toContain(secret);
    expect(stored).not.toContain("alice");
  });

  it("shows a hostile service's markup as text and runs none of it", { timeout: SLOW }, async () => {
    const evil = await open("hostile", "evil");
    await evil.locator(".form [name^='root[']").first().waitFor();
    expect(await evil.locator(".description").textContent()).toBe(XSS);
    expect(await evil.locator(".form img, .form script, .description img, a[href^='javascript']").count()).toBe(0);
    await evil.locator("button.invoke").click();
    await expect.poll(() => evil.locator(".outcome pre.result").textContent(), { timeout: 30_000 }).toContain("onerror");
    expect(await page.locator("img, script:not([src])").count()).toBe(0);
    expect(await page.evaluate<unknown>("window.__pwned")).toBeUndefined();
  });

  it("ran without script errors or CSP violations", () => {
    expect(pageErrors).toEqual([]);
  });
});
