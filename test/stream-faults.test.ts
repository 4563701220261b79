/**
 * Streams under faults (a caller killed mid-call: test/caller-death.test.ts): a slow consumer of a fast
 * producer (the producer's memory stays flat: credit holds it back), a broker killed and restarted mid-stream (no item duplicated or reordered: the stream
 * completes, or fails naming the lost item), and streams on the memory communicator.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it, vi } from "vitest";
import { MemoryBus, MemoryCommunicator, RequestAbortedError, startBroker, type HandlerContext, type MqttCommunicator } from "mqtt-contracts";
import { brokerForTest, tcpBrokers } from "./helpers/brokers.js";
import { Children } from "./helpers/child-process.js";
import { started } from "./helpers/communicators.js";
import { freePort, startMosquitto } from "./helpers/mosquitto.js";
import { failure } from "./helpers/failures.js";
import { recordingLogger } from "./helpers/recording-logger.js";
import { ticker, type Run } from "./helpers/stream-runs.js";

/** The producer's `rss <bytes> yielded <count>` lines so far. */
function samples(stdout: string): { rss: number; yielded: number }[] {
  return [...stdout.matchAll(/^rss (\d+) yielded (\d+)$/gm)].map((match) => ({ rss: Number(match[1]), yielded: Number(match[2]) }));
}

describe.each(tcpBrokers)("a slow consumer of a fast producer on %s", (name, start) => {
  const children = new Children();
  afterEach(() => children.killAll());

  // Without flow control (the same run with credit 65 535), the producer's RSS grew by ~165 MiB on the
  // embedded broker: its items queue in its own MQTT client. With the default credit it stays flat.
  it("keeps the producer's memory flat over 100 000 items, which all arrive in order", { timeout: 120_000 }, async () => {
    const ITEMS = 100_000;
    /** The consumer's pace: items per second, below what the pipeline can carry (and far below what the generator could yield). */
    const RATE = 2_500;
    const MIB = 1024 * 1024;
    const broker = await brokerForTest(start);
    const producer = children.startTs("test/fixtures/streams/producer.ts", [broker.url]);
    await producer.waitForStdout(/^ready$/m, 60_000);
    const client = await started(broker.url, { agentName: "consumer", serviceUrls: { producer: "producer" } });

    // A warm-up at full speed (code compiled, buffers grown): its rate shows what the whole pipeline can carry.
    const warmUpStarted = performance.now();
    let warm = 0;
    for await (const _ of client.sendStream("producer", "flood", { n: 10_000 })) warm++;
    const fullRate = Math.round(warm / ((performance.now() - warmUpStarted) / 1000));
    expect(warm).toBe(10_000);
    // A sample taken after the warm-up: the baseline.
    const before = samples(producer.stdout).length;
    await vi.waitFor(() => expect(samples(producer.stdout).length).toBeGreaterThan(before + 1), { timeout: 5_000, interval: 10 });
    const baselineIndex = samples(producer.stdout).length - 1;
    const baseline = samples(producer.stdout)[baselineIndex]!;

    const stream = client.sendStream<{ i: number; pad: string }, { total: number }>("producer", "flood", { n: ITEMS }, { timeoutMs: 300_000 });
    const began = performance.now();
    let received = 0;
    let outOfOrder = 0;
    /** How far the producer's last reported count ran ahead of the items taken here (it is reported late, so at most its real lead). */
    let lead = 0;
    let paused = 0;
    for await (const item of stream) {
      if (item.i !== received) outOfOrder++;
      received++;
      const reported = samples(producer.stdout.slice(-200)).at(-1)!.yielded - baseline.yielded;
      lead = Math.max(lead, reported - received);
      // Paced: every 1 000 items, wait until the consumer's schedule catches up.
      if (received % 1_000 === 0) {
        const wait = began + (received / RATE) * 1000 - performance.now();
        if (wait > 0) {
          paused += wait;
          await sleep(wait);
        }
      }
    }
    const seconds = (performance.now() - began) / 1000;
    await expect(stream.result).resolves.toEqual({ total: ITEMS });
    // The producer reports every 100 ms: wait for a report that counts every item.
    await vi.waitFor(() => expect(samples(producer.stdout).at(-1)!.yielded - baseline.yielded).toBe(ITEMS), { timeout: 5_000, interval: 10 });
    const during = samples(producer.stdout).slice(baselineIndex + 1);
    const peak = Math.max(...during.map((sample) => sample.rss));
    const growth = (peak - baseline.rss) / MIB;
    console.log(
      `${name}: ${ITEMS} items read in ${seconds.toFixed(1)} s (paced at ${RATE}/s, paused ${Math.round((paused / 1000 / seconds) * 100)} % of the time; producer to consumer at full speed: ${fullRate}/s); ` +
        `producer RSS ${(baseline.rss / MIB).toFixed(1)} MiB before, peak ${(peak / MIB).toFixed(1)} MiB over ${during.length} samples: growth ${growth.toFixed(1)} MiB; the producer ran at most ${lead} items ahead of the consumer`,
    );
    expect(received).toBe(ITEMS);
    expect(outOfOrder).toBe(0);
    expect(during.length).toBeGreaterThan(10);
    expect(growth).toBeLessThan(16);
    // Credit holds the producer back: it ran ahead of the consumer, but never by more than the default credit (256).
    expect(lead).toBeGreaterThanOrEqual(16);
    expect(lead).toBeLessThanOrEqual(256);
  });
});

/** A broker on a fixed port, in a process of its own, that can be killed with SIGKILL and started again on that port. */
interface KillableBroker {
  readonly url: string;
  /** SIGKILL, and wait until it is gone. */
  kill(): Promise<void>;
  /** Start it again on the same port; resolves once it accepts connections. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** The embedded broker, run by test/fixtures/streams/broker.ts in a child of `children`. */
async function killableEmbedded(children: Children): Promise<KillableBroker> {
  const port = await freePort();
  const launch = async () => {
    const child = children.startTs("test/fixtures/streams/broker.ts", [String(port)]);
    await child.waitForStdout(/^ready /m, 60_000);
    return child;
  };
  let child = await launch();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    async kill() {
      child.process.kill("SIGKILL");
      await child.exited;
    },
    async restart() {
      child = await launch();
    },
    close: () => children.killAll(),
  };
}

async function killableMosquitto(): Promise<KillableBroker> {
  const mosquitto = await startMosquitto({ port: await freePort() });
  return { url: mosquitto.url, kill: () => mosquitto.kill("SIGKILL"), restart: () => mosquitto.start(), close: () => mosquitto.close() };
}

describe.each([
  ["the embedded broker", killableEmbedded],
  ["Mosquitto", killableMosquitto],
] as const)("the broker killed with SIGKILL and restarted mid-stream on %s", (name, start) => {
  const children = new Children();
  afterEach(() => children.killAll());

  // With a 5 s idle timeout it also failed with RequestTimeoutError "sent no item for 5000 ms" (seen on Mosquitto in 2 runs of 8):
  // the caller's credit grant published around the restart never reached the server, which waits at its
  // credit while the caller believes it granted more. See "a credit grant lost on the way" below. Why they are
  // lost: on reconnecting, mqtt.js first sends the publishes it queued while offline (the server's items)
  // and only then resubscribes (client.js, on "connect": `deliver()` calls `_resubscribe()` once its queue is
  // empty), so the caller answers those items with control messages to svc/notification before the server's
  // subscription to it is back, and the broker drops them. The cancel after a lost item goes the same way:
  // the handler is then aborted by its idle timeout, not by the cancel (printed below).
  it("neither duplicates nor reorders an item: the stream completes in order, or fails naming the lost item", { timeout: 90_000 }, async () => {
    const ITEMS = 2_000;
    const broker = await brokerForTest(() => start(children));
    const serverLog = recordingLogger();
    const clientLog = recordingLogger();
    const runs: Run[] = [];
    const server: MqttCommunicator = await started(broker.url, { agentName: "svc", options: { reconnectPeriodMs: 200 }, logger: serverLog }, {
      // 2 000 items, one every 4 ms: ~8 s or more.
      count: async function* ({ n }: { n: number }, context: HandlerContext) {
        const run: Run = { yielded: 0 };
        runs.push(run);
        context.signal.addEventListener("abort", () => (run.aborted = { at: Date.now(), reason: context.signal.reason }), { once: true });
        for (let i = 0; i < n; i++) {
          await sleep(4, undefined, { signal: context.signal }).catch(() => undefined);
          if (context.signal.aborted) return { total: i };
          run.yielded++;
          yield { i };
        }
        return { total: n };
      },
    });
    const client = await started(broker.url, { agentName: "caller", serviceUrls: { svc: "svc" }, options: { reconnectPeriodMs: 200 }, logger: clientLog });

    // The idle timeout must outlast the outage: killing and restarting the broker, reconnecting and resubscribing
    // took over 5 s with two CPU burners beside the suite, and the server then gave the caller up ("sent no credit
    // or sign of life for 5000 ms") before the caller's periodic grant could reach it. This test is about order
    // and loss, not idle timeouts (see "a credit grant lost on the way" below for those).
    const IDLE_MS = 15_000;
    const stream = client.sendStream<{ i: number }, { total: number }>("svc", "count", { n: ITEMS }, { timeoutMs: 60_000, idleTimeoutMs: IDLE_MS });
    const items: number[] = [];
    let killed: Promise<void> | undefined;
    let error: unknown;
    try {
      for await (const item of stream) {
        items.push(item.i);
        if (items.length === 300) {
          killed = (async () => {
            await broker.kill();
            await broker.restart();
          })();
        }
      }
    } catch (caught) {
      error = caught;
    }
    await killed;
    const inOrder = items.every((i, index) => i === index);
    const outcome = error === undefined ? `completed with all ${items.length} items` : `failed after ${items.length} items: ${error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error)}`;
    console.log(`${name}: the stream ${outcome}; items in order: ${inOrder}; the handler yielded ${runs[0]?.yielded}${runs[0]?.aborted ? `, aborted: ${String(runs[0].aborted.reason)}` : ""}`);
    // Never a copy, never out of order.
    expect(inOrder).toBe(true);
    if (error === undefined) {
      expect(items).toHaveLength(ITEMS);
      await expect(stream.result).resolves.toEqual({ total: ITEMS });
    } else {
      // Failed: the message names the first item that did not arrive, and everything before it came.
      expect((error as Error).message).toMatch(new RegExp(`lost item ${items.length}\\b|item ${items.length} was lost`));
      // And the server's handler does not run on: the caller's cancel (or, failing that, its idle timeout) aborts it.
      const failedAt = Date.now();
      await vi.waitFor(() => expect(runs[0]!.aborted).toBeDefined(), { timeout: IDLE_MS + 5_000, interval: 10 });
      console.log(`${name}: the handler was aborted ${runs[0]!.aborted!.at - failedAt} ms after the caller failed: ${String(runs[0]!.aborted!.reason)}`);
    }
    expect(server.started).toBe(true);
  });
});

describe("streams on the memory communicator", () => {
  it("delivers items in order and the result; break and cancel() abort the handler", async () => {
    const bus = new MemoryBus();
    const runs: Run[] = [];
    const server = new MemoryCommunicator({ agentName: "svc", options: { bus }, logger: recordingLogger() });
    const client = new MemoryCommunicator({ agentName: "caller", serviceUrls: { svc: "svc" }, options: { bus }, logger: recordingLogger() });
    try {
      server.registerHandler("count", async function* ({ n }: { n: number }) {
        for (let i = 0; i < n; i++) yield { i };
        return { total: n };
      });
      server.registerHandler("ticks", ticker(runs, 5));
      await server.start();
      await client.start();

      // More items than the credit: flow control works there too.
      const stream = client.sendStream<{ i: number }, { total: number }>("svc", "count", { n: 500 }, { credit: 8 });
      const items: number[] = [];
      for await (const item of stream) items.push(item.i);
      expect(items).toEqual(Array.from({ length: 500 }, (_, i) => i));
      await expect(stream.result).resolves.toEqual({ total: 500 });

      // Breaking out cancels.
      const broken = client.sendStream<{ i: number }>("svc", "ticks", {});
      for await (const item of broken) if (item.i === 2) break;
      await vi.waitFor(() => expect(runs[0]?.aborted).toBeDefined(), { timeout: 5_000, interval: 5 });
      expect(String(runs[0]!.aborted!.reason)).toMatch(/cancelled/);
      await vi.waitFor(() => expect(runs[0]!.finishedWith).toBeDefined(), { timeout: 5_000, interval: 5 });
      expect(await failure(broken.result)).toBeInstanceOf(RequestAbortedError);

      // cancel() cancels.
      const cancelled = client.sendStream<{ i: number }>("svc", "ticks", {});
      const iterator = cancelled[Symbol.asyncIterator]();
      expect((await iterator.next()).value).toEqual({ i: 0 });
      cancelled.cancel(new Error("enough"));
      expect(await failure(cancelled.result)).toMatchObject({ message: expect.stringMatching(/enough/) });
      await vi.waitFor(() => expect(runs[1]?.aborted).toBeDefined(), { timeout: 5_000, interval: 5 });
      expect(String(runs[1]!.aborted!.reason)).toMatch(/enough/);
      await vi.waitFor(() => expect(runs[1]!.finishedWith).toBeDefined(), { timeout: 5_000, interval: 5 });
    } finally {
      await client.stop();
      await server.stop();
    }
  });
});

describe("cancel() without a reason", () => {
  // Found by this test: without a reason the call used to fail with `undefined` (a result rejected with
  // `undefined`, iteration ending as if complete). `cancel()` now ends it with RequestAbortedError, as `break` does.
  it("rejects the result with RequestAbortedError, ends iteration with it, and tells the server a reason", async () => {
    const bus = new MemoryBus();
    const runs: Run[] = [];
    const server = new MemoryCommunicator({ agentName: "svc", options: { bus }, logger: recordingLogger() });
    const client = new MemoryCommunicator({ agentName: "caller", serviceUrls: { svc: "svc" }, options: { bus }, logger: recordingLogger() });
    try {
      server.registerHandler("ticks", ticker(runs, 5));
      await server.start();
      await client.start();
      const stream = client.sendStream<{ i: number }>("svc", "ticks", {});
      const iterator = stream[Symbol.asyncIterator]();
      expect((await iterator.next()).value).toEqual({ i: 0 });
      stream.cancel();
      await vi.waitFor(() => expect(runs[0]?.aborted).toBeDefined(), { timeout: 5_000, interval: 5 });
      const result = await stream.result.then(() => "resolved", (error: unknown) => error);
      const next = await iterator.next().then((step) => step, (error: unknown) => error);
      expect({ result, next, serverReason: String(runs[0]!.aborted!.reason) }).toEqual({
        result: expect.any(RequestAbortedError),
        next: expect.any(RequestAbortedError),
        serverReason: expect.not.stringMatching(/: undefined$/),
      });
    } finally {
      await client.stop();
      await server.stop();
    }
  });
});

describe("a credit grant lost on the way", () => {
  // Found by this test: credit used to travel as increments ("16 more"), so lost grants (a broker restart drops
  // those sent before the server has resubscribed) shrank the window for good, or stalled the stream until the
  // idle timeout. Credit is now a running total ("granted": how many in all), restated in each sign of life, so
  // the next message repairs a lost one.
  it("two lost grants do not stall the stream: it completes with every item in order", async () => {
    let dropped = 0;
    // The embedded broker drops the first two grants of more credit on their way to the server.
    const broker = await brokerForTest(() =>
      startBroker({
        aedes: {
          authorizeForward(_client, packet) {
            if (dropped < 2 && packet.topic === "svc/notification" && /"method":"rpc\.credit"/.test(packet.payload.toString())) {
              dropped++;
              return null;
            }
            return packet;
          },
        },
      }),
    );
    const runs: Run[] = [];
    await started(broker.url, { agentName: "svc" }, {
      count: async function* ({ n }: { n: number }, context: HandlerContext) {
        const run: Run = { yielded: 0 };
        runs.push(run);
        context.signal.addEventListener("abort", () => (run.aborted = { at: Date.now(), reason: context.signal.reason }), { once: true });
        for (let i = 0; i < n; i++) {
          run.yielded++;
          yield { i };
        }
        return { total: n };
      },
    });
    const client = await started(broker.url, { agentName: "caller", serviceUrls: { svc: "svc" } });
    const stream = client.sendStream<{ i: number }, { total: number }>("svc", "count", { n: 200 }, { credit: 8, idleTimeoutMs: 1_500, timeoutMs: 20_000 });
    const items: number[] = [];
    const error = await (async () => {
      for await (const item of stream) items.push(item.i);
    })().then(() => undefined, (caught: unknown) => caught);
    console.log(`credit grants dropped: ${dropped}; ${items.length} items arrived, the handler yielded ${runs[0]?.yielded}; ${error === undefined ? "completed" : `failed: ${String(error)}`}`);
    expect(dropped).toBe(2);
    expect(items.every((i, index) => i === index)).toBe(true);
    expect(error).toBeUndefined();
    expect(items).toHaveLength(200);
  });
});

describe("an item lost on the way", () => {
  it("fails the stream naming it, after the items before it, and the caller's cancel aborts the handler", async () => {
    let dropped = 0;
    // The embedded broker drops item 5 on its way to the caller.
    const broker = await brokerForTest(() =>
      startBroker({
        aedes: {
          authorizeForward(_client, packet) {
            if (dropped === 0 && /"method":"rpc\.item","params":\{"id":"[^"]*","seq":5,/.test(packet.payload.toString())) {
              dropped++;
              return null;
            }
            return packet;
          },
        },
      }),
    );
    const runs: Run[] = [];
    await started(broker.url, { agentName: "svc" }, { ticks: ticker(runs, 20) });
    const client = await started(broker.url, { agentName: "caller", serviceUrls: { svc: "svc" } });
    const stream = client.sendStream<{ i: number }>("svc", "ticks", {}, { idleTimeoutMs: 10_000, timeoutMs: 20_000 });
    const items: number[] = [];
    const error = await (async () => {
      for await (const item of stream) items.push(item.i);
    })().then(() => undefined, (caught: unknown) => caught);
    const failedAt = Date.now();
    expect(dropped).toBe(1);
    expect(items).toEqual([0, 1, 2, 3, 4]);
    expect((error as Error).message).toMatch(/lost item 5: the next to arrive was item 6, and items up to \d+ came without it/);
    // Well before the server's idle timeout (10 s): the cancel reached it.
    await vi.waitFor(() => expect(runs[0]!.aborted).toBeDefined(), { timeout: 5_000, interval: 10 });
    console.log(`an item dropped by the broker: the handler was aborted ${runs[0]!.aborted!.at - failedAt} ms after the caller failed: ${String(runs[0]!.aborted!.reason)}`);
    expect(String(runs[0]!.aborted!.reason)).toMatch(/cancelled ticks: .*lost item 5/);
  });
});
