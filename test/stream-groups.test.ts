/**
 * Streams to an instance group (`sharedGroup`) of two instances, on aedes (instance topics and hashing) and
 * on Mosquitto (`$share`): each stream runs on one instance, its credit and cancel reach that instance, and
 * a cancel aborts that handler alone.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { HandlerContext, MqttCommunicator } from "mqtt-contracts";
import { brokerForTest, brokers, type TestBroker } from "./helpers/brokers.js";
import { started } from "./helpers/communicators.js";

/** One run of a streaming handler: where it ran, for which stream, and whether it was aborted. */
interface Run {
  instance: string;
  key: string;
  yielded: number;
  aborted?: string;
  finished: boolean;
}

const INSTANCES = ["svc-0", "svc-1"];

describe.each(brokers)("streams to a group of two instances on %s", (name, start) => {
  let broker: TestBroker;
  let runs: Run[];
  let servers: MqttCommunicator[];
  let client: MqttCommunicator;

  function handlers(instance: string) {
    return {
      // `n` items (or for ever), one every `everyMs`.
      count: async function* ({ key, n, everyMs }: { key: string; n?: number; everyMs: number }, context: HandlerContext) {
        const run: Run = { instance, key, yielded: 0, finished: false };
        runs.push(run);
        context.signal.addEventListener("abort", () => (run.aborted = String(context.signal.reason)), { once: true });
        try {
          for (let i = 0; n === undefined || i < n; i++) {
            await sleep(everyMs, undefined, { signal: context.signal }).catch(() => undefined);
            if (context.signal.aborted) return { key, total: i, instance };
            run.yielded++;
            yield { key, i };
          }
          return { key, total: n, instance };
        } finally {
          run.finished = true;
        }
      },
    };
  }

  beforeEach(async () => {
    runs = [];
    broker = await brokerForTest(start);
    servers = [];
    for (const instance of INSTANCES) {
      servers.push(await started(broker, { agentName: "svc", options: { sharedGroup: "g", clientId: instance, shareProbeMs: 1_000 } }, handlers(instance)));
    }
    client = await started(broker, { agentName: "caller", serviceUrls: { svc: "svc" } });
    await vi.waitFor(
      () => {
        for (const server of servers) expect(server.liveInstances()).toHaveLength(2);
        expect(client.liveInstances("svc")).toHaveLength(2);
      },
      { timeout: 10_000, interval: 20 },
    );
  });

  it("runs each of several concurrent streams on exactly one instance, all items in order", async () => {
    expect(servers.map((server) => server.routing)).toEqual(name === "mosquitto" ? ["shared", "shared"] : ["instances", "instances"]);
    const STREAMS = 8;
    const ITEMS = 300;
    const outcomes = await Promise.all(
      Array.from({ length: STREAMS }, async (_, s) => {
        // A small credit: the stream lives on the credit its caller keeps sending to its instance.
        const stream = client.sendStream<{ key: string; i: number }, { key: string; total: number; instance: string }>("svc", "count", { key: `s${s}`, n: ITEMS, everyMs: 1 }, { credit: 8, timeoutMs: 60_000 });
        const items: { key: string; i: number }[] = [];
        for await (const item of stream) items.push(item);
        return { items, result: await stream.result };
      }),
    );
    for (const [s, { items, result }] of outcomes.entries()) {
      expect(items, `stream s${s}`).toEqual(Array.from({ length: ITEMS }, (_, i) => ({ key: `s${s}`, i })));
      expect(result).toMatchObject({ key: `s${s}`, total: ITEMS });
      const ran = runs.filter((run) => run.key === `s${s}`);
      expect(ran.map((run) => run.instance), `stream s${s}`).toEqual([result.instance]);
    }
    const placement = Object.fromEntries(INSTANCES.map((instance) => [instance, runs.filter((run) => run.instance === instance).map((run) => run.key)]));
    console.log(`${name}: ${STREAMS} streams ran on ${JSON.stringify(placement)}`);
    expect(runs).toHaveLength(STREAMS);
    expect(runs.every((run) => run.finished && run.aborted === undefined)).toBe(true);
  });

  it("a break aborts the handler on the instance that ran that stream, and no other handler", async () => {
    const LONG = 6;
    const streams = Array.from({ length: LONG }, (_, s) => client.sendStream<{ key: string; i: number }>("svc", "count", { key: `l${s}`, everyMs: 5 }, { credit: 4, timeoutMs: 60_000 }));
    const iterators = streams.map((stream) => stream[Symbol.asyncIterator]());
    for (const iterator of iterators) for (let i = 0; i < 3; i++) await iterator.next();
    expect(runs).toHaveLength(LONG);
    const placement = Object.fromEntries(runs.map((run) => [run.key, run.instance]));
    console.log(`${name}: long streams ran on ${JSON.stringify(placement)}`);

    // Cancel l0 as `break` does.
    await iterators[0]!.return!();
    const cancelled = runs.find((run) => run.key === "l0")!;
    await vi.waitFor(() => expect(cancelled.finished).toBe(true), { timeout: 5_000, interval: 10 });
    expect(cancelled.aborted).toMatch(/cancelled count/);
    // The others, on either instance, still run: each yields three more items, with no abort.
    for (const iterator of iterators.slice(1)) for (let i = 0; i < 3; i++) expect((await iterator.next()).done).toBe(false);
    expect(runs.filter((run) => run.aborted !== undefined).map((run) => run.key)).toEqual(["l0"]);
    expect(runs.filter((run) => run.key === "l0")).toHaveLength(1);
    for (const iterator of iterators.slice(1)) await iterator.return!();
    await vi.waitFor(() => expect(runs.every((run) => run.finished)).toBe(true), { timeout: 5_000, interval: 10 });
  });
});
