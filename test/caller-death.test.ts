/**
 * A caller killed with SIGKILL mid-call: the server aborts the handler at the caller's idle timeout, for a
 * stream (the caller stops granting credit) and for a plain call that promised signs of life (`alive`).
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import type { HandlerContext } from "mqtt-contracts";
import { brokerForTest, tcpBrokers } from "./helpers/brokers.js";
import { Children } from "./helpers/child-process.js";
import { started } from "./helpers/communicators.js";
import { ticker, type Run } from "./helpers/stream-runs.js";

describe.each(tcpBrokers)("a stream's caller killed with SIGKILL on %s", (name, start) => {
  const children = new Children();
  afterEach(() => children.killAll());

  it("aborts the server's handler within about the idle timeout, and it stops yielding", { timeout: 90_000 }, async () => {
    const IDLE_MS = 1_500;
    const broker = await brokerForTest(start);
    const runs: Run[] = [];
    await started(broker.url, { agentName: "svc" }, { ticks: ticker(runs, 50) });
    const caller = children.startTs("test/fixtures/streams/caller.ts", [broker.url, String(IDLE_MS)]);
    await caller.waitForStdout(/^item 4$/m, 60_000);
    const killedAt = Date.now();
    caller.process.kill("SIGKILL");
    await caller.exited;
    await vi.waitFor(() => expect(runs[0]?.aborted).toBeDefined(), { timeout: IDLE_MS + 10_000, interval: 10 });
    const delay = runs[0]!.aborted!.at - killedAt;
    console.log(`${name}: the handler's signal aborted ${delay} ms after the caller's SIGKILL (idleTimeoutMs ${IDLE_MS}); it had yielded ${runs[0]!.yielded} items`);
    expect(String(runs[0]!.aborted!.reason)).toMatch(/sent no credit or sign of life for 1500 ms/);
    expect(delay).toBeLessThan(IDLE_MS + 3_000);
    // The generator has returned: it cannot yield again.
    await vi.waitFor(() => expect(runs[0]!.finishedWith).toBeDefined(), { timeout: 5_000, interval: 10 });
    expect(runs[0]!.yielded).toBe(runs[0]!.finishedWith);
    expect(runs).toHaveLength(1);
    expect(caller.stdout).not.toMatch(/^(done|failed)/m);
  });
});

describe.each(tcpBrokers)("a plain call's caller killed with SIGKILL on %s", (name, start) => {
  const children = new Children();
  afterEach(() => children.killAll());

  it("aborts the handler within about the idle timeout: the caller had promised signs of life", { timeout: 90_000 }, async () => {
    const IDLE_MS = 1_500;
    const broker = await brokerForTest(start);
    const runs: Run[] = [];
    await started(broker.url, { agentName: "svc" }, {
      slow: (_params: unknown, context: HandlerContext) => {
        const run: Run = { yielded: 0 };
        runs.push(run);
        return new Promise((resolve) =>
          context.signal.addEventListener("abort", () => {
            run.aborted = { at: Date.now(), reason: context.signal.reason };
            resolve({ aborted: true });
          }, { once: true }),
        );
      },
    });
    const caller = children.startTs("test/fixtures/streams/caller.ts", [broker.url, String(IDLE_MS), "unary"]);
    await vi.waitFor(() => expect(runs).toHaveLength(1), { timeout: 60_000, interval: 20 });
    const killedAt = Date.now();
    caller.process.kill("SIGKILL");
    await caller.exited;
    await vi.waitFor(() => expect(runs[0]?.aborted).toBeDefined(), { timeout: IDLE_MS + 10_000, interval: 10 });
    const delay = runs[0]!.aborted!.at - killedAt;
    console.log(`${name}: the plain call's handler aborted ${delay} ms after the caller's SIGKILL (idleTimeoutMs ${IDLE_MS}, timeoutMs 600 000)`);
    expect(String(runs[0]!.aborted!.reason)).toMatch(/sent no credit or sign of life for 1500 ms/);
    expect(delay).toBeLessThan(IDLE_MS + 3_000);
  });
});
