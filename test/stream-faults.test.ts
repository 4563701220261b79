/**
 * Streams under faults: a caller killed with SIGKILL mid-stream (the server's handler must be aborted by
 * the idle timeout), a slow consumer of a fast producer (the producer's memory stays flat: credit holds
 * it back), a broker killed and restarted mid-stream (no item duplicated or reordered: the stream
 * completes, or fails naming the lost item), and streams on the memory communicator.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it, vi } from "vitest";
import { MemoryBus, MemoryCommunicator, RequestAbortedError, type HandlerContext } from "mqtt-contracts";
import { brokerForTest, tcpBrokers } from "./helpers/brokers.js";
import { Children } from "./helpers/child-process.js";
import { started } from "./helpers/communicators.js";
import { failure } from "./helpers/failures.js";
import { recordingLogger } from "./helpers/recording-logger.js";

/** What one run of a streaming handler did. */
interface Run {
  yielded: number;
  /** When its signal aborted (Date.now()), and why. */
  aborted?: { at: number; reason: unknown };
  /** Set once the generator has finished (its `finally` ran): it can yield no more. */
  finishedWith?: number;
}

/** A handler yielding `{ i }` every `everyMs`, for ever, that records what it did in `runs`. */
function ticker(runs: Run[], everyMs: number) {
  return async function* ticks(_params: unknown, context: HandlerContext) {
    const run: Run = { yielded: 0 };
    runs.push(run);
    context.signal.addEventListener("abort", () => (run.aborted = { at: Date.now(), reason: context.signal.reason }), { once: true });
    try {
      for (let i = 0; ; i++) {
        await sleep(everyMs, undefined, { signal: context.signal }).catch(() => undefined);
        if (context.signal.aborted) return { total: i };
        run.yielded++;
        yield { i };
      }
    } finally {
      run.finishedWith = run.yielded;
    }
  };
}

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
