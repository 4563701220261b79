import { setTimeout as sleep } from "node:timers/promises";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { ConfigurationError, defineService, discover, registerService, RequestAbortedError, RequestTimeoutError, RpcError, ServiceClient, ValidationError, type HandlerContext, type MqttCommunicator } from "mqtt-contracts";
import { recordingLogger } from "./helpers/recording-logger.js";
import { brokerForTest, brokers, type TestBroker } from "./helpers/brokers.js";
import { started, startedPair } from "./helpers/communicators.js";
import { failure } from "./helpers/failures.js";

/** What a streaming handler did: how many items it yielded, and when its signal aborted (and why). */
interface Observed {
  yielded: number;
  aborted: Promise<{ at: number; reason: unknown }>;
  finished: Promise<void>;
}

/** A handler that yields `{ i }` every `delayMs` (0: as fast as it may), `n` of them, then returns `{ total }`; it records what it saw. */
function counter(observed: Observed[]) {
  return async function* count({ n, delayMs = 0 }: { n: number; delayMs?: number }, context: HandlerContext) {
    let finish!: () => void;
    const seen: Observed = { yielded: 0, aborted: new Promise((resolve) => context.signal.addEventListener("abort", () => resolve({ at: Date.now(), reason: context.signal.reason }), { once: true })), finished: new Promise((resolve) => (finish = resolve)) };
    observed.push(seen);
    try {
      for (let i = 0; i < n; i++) {
        if (delayMs > 0) await sleep(delayMs, undefined, { signal: context.signal }).catch(() => undefined);
        if (context.signal.aborted) return { total: i };
        seen.yielded++;
        yield { i };
      }
      return { total: n };
    } finally {
      finish();
    }
  };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

describe.each(brokers)("streams on %s", (_name, start) => {
  let broker: TestBroker;
  let server: MqttCommunicator;
  let client: MqttCommunicator;
  let observed: Observed[];
  /** Why each `slow` handler's signal aborted. */
  let slowAborts: string[];

  beforeEach(async () => {
    observed = [];
    slowAborts = [];
    broker = await brokerForTest(start);
    ({ server, client } = await startedPair(broker, {
      handlers: {
        count: counter(observed),
        fails: async function* ({ after }: { after: number }) {
          for (let i = 0; i < after; i++) yield { i };
          throw new RpcError(-32050, "the arm hit something", { data: { at: after } });
        },
        slow: (_params: unknown, context: HandlerContext) =>
          new Promise((resolve) =>
            context.signal.addEventListener("abort", () => {
              slowAborts.push(String(context.signal.reason));
              resolve({ aborted: true });
            }, { once: true }),
          ),
      },
    }));
  });

  it("delivers the items in order, then the result; an empty stream has only the result", async () => {
    const stream = client.sendStream<{ i: number }, { total: number }>("svc", "count", { n: 100 });
    expect(await collect(stream)).toEqual(Array.from({ length: 100 }, (_, i) => ({ i })));
    await expect(stream.result).resolves.toEqual({ total: 100 });
    const empty = client.sendStream("svc", "count", { n: 0 });
    expect(await collect(empty)).toEqual([]);
    await expect(empty.result).resolves.toEqual({ total: 0 });
  });

  it("gives the items so far, then the handler's error, and its result rejects with it", async () => {
    const stream = client.sendStream("svc", "fails", { after: 3 });
    const items: unknown[] = [];
    const error = await failure((async () => {
      for await (const item of stream) items.push(item);
    })());
    expect(items).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
    expect(error).toBeInstanceOf(RpcError);
    expect(error).toMatchObject({ code: -32050, data: { at: 3 } });
    await expect(stream.result).rejects.toMatchObject({ code: -32050 });
  });

  it("breaking out after 3 items cancels: the handler's signal aborts and it stops yielding", async () => {
    const stream = client.sendStream<{ i: number }>("svc", "count", { n: 1_000_000, delayMs: 5 });
    const items: { i: number }[] = [];
    for await (const item of stream) {
      items.push(item);
      if (items.length === 3) break;
    }
    const brokeAt = Date.now();
    const aborted = await observed[0]!.aborted;
    expect(aborted.at - brokeAt).toBeLessThan(200 * 10); // generous for loaded machines; the bench and the note give the real figure
    expect(String(aborted.reason)).toMatch(/cancelled/);
    await observed[0]!.finished;
    const yielded = observed[0]!.yielded;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(observed[0]!.yielded).toBe(yielded);
    expect(items).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
    expect(await failure(stream.result)).toBeInstanceOf(RequestAbortedError);
  });

  it("signal.abort() and the timeout cancel a stream; the handler hears it", async () => {
    const controller = new AbortController();
    const aborted = client.sendStream("svc", "count", { n: 1_000_000, delayMs: 5 }, { signal: controller.signal });
    const iterator = aborted[Symbol.asyncIterator]();
    await iterator.next();
    controller.abort(new Error("enough"));
    expect(await failure(aborted.result)).toBeInstanceOf(RequestAbortedError);
    expect(String((await observed[0]!.aborted).reason)).toMatch(/aborted/);

    const timed = client.sendStream("svc", "count", { n: 1_000_000, delayMs: 5 }, { timeoutMs: 300 });
    expect(await failure(collect(timed))).toBeInstanceOf(RequestTimeoutError);
    expect((await observed[1]!.aborted).reason).toMatchObject({ name: "TimeoutError" });
  });

  it("fails with RequestTimeoutError when no item comes within idleTimeoutMs, and the handler is cancelled", async () => {
    const stream = client.sendStream("svc", "count", { n: 2, delayMs: 60_000 }, { idleTimeoutMs: 300 });
    const error = await failure(collect(stream));
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect((error as Error).message).toMatch(/sent no item for 300 ms/);
    await observed[0]!.aborted;
  });

  it("cancels a unary call its caller aborts: the handler's signal fires", async () => {
    const controller = new AbortController();
    const call = client.sendRequest("svc", "slow", {}, { signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 100));
    controller.abort();
    expect(await failure(call)).toBeInstanceOf(RequestAbortedError);
    await vi.waitFor(() => expect(slowAborts).toEqual([expect.stringMatching(/cancelled slow: the caller aborted it/)]));
    // A timeout cancels too.
    expect(await failure(client.sendRequest("svc", "slow", {}, { timeoutMs: 300 }))).toBeInstanceOf(RequestTimeoutError);
    await vi.waitFor(() => expect(slowAborts[1]).toMatch(/TimeoutError: The caller's deadline for slow has passed/));
  });

  it("holds a producer at its credit while the consumer does not read", async () => {
    const stream = client.sendStream<{ i: number }>("svc", "count", { n: 10_000 }, { credit: 4 });
    const iterator = stream[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toEqual({ i: 0 });
    // The first item was taken and granted back: the server may send 5 in all, and waits there.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(observed[0]!.yielded).toBeLessThanOrEqual(5);
    const rest: { i: number }[] = [];
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) rest.push(next.value);
    expect(rest).toHaveLength(9_999);
    expect(rest.every((item, index) => item.i === index + 1)).toBe(true);
  });

  it("refuses a streaming method called as a plain request, and a non-streaming one called as a stream answers its result", async () => {
    const error = await failure(client.sendRequest("svc", "count", { n: 1 }));
    expect(error).toBeInstanceOf(RpcError);
    expect((error as Error).message).toMatch(/count streams; call it as a stream/);
    server.registerHandler("plain", () => ({ ok: true }));
    const stream = client.sendStream("svc", "plain", {});
    expect(await collect(stream)).toEqual([]);
    await expect(stream.result).resolves.toEqual({ ok: true });
  });

  it("refuses a stream to a service called in the OpenMAS format, before sending", async () => {
    const caller = await started(broker, { agentName: "om-caller", serviceUrls: { svc: "svc" }, options: { serviceWireFormats: { svc: "openmas" } } });
    const stream = caller.sendStream("svc", "count", { n: 1 });
    expect(await failure(stream.result)).toBeInstanceOf(ConfigurationError);
    expect(await failure(collect(stream))).toMatchObject({ message: /OpenMAS format, which has no streams/ });
  });

  it("hands out items a publisher reordered in order, and drops copies", async () => {
    // A foreign server (raw MQTT) that sends items 0, 2, 1, 1, 3 and then its answer.
    const raw = await broker.rawClient();
    await raw.subscribeAsync("foreign/request/#", { qos: 1 });
    raw.on("message", (_topic, payload) => {
      const request = JSON.parse(payload.toString()) as { id: string; response_topic: string };
      const item = (seq: number) => JSON.stringify({ jsonrpc: "2.0", method: "rpc.item", params: { id: request.id, seq, item: { seq } } });
      for (const seq of [0, 2, 1, 1, 3]) void raw.publishAsync(request.response_topic, item(seq), { qos: 1 });
      void raw.publishAsync(request.response_topic, JSON.stringify({ jsonrpc: "2.0", id: request.id, result: "done", items: 4 }), { qos: 1 });
    });
    const caller = await started(broker, { agentName: "c3", serviceUrls: { foreign: "foreign" } });
    const stream = caller.sendStream<{ seq: number }>("foreign", "anything", {});
    expect(await collect(stream)).toEqual([{ seq: 0 }, { seq: 1 }, { seq: 2 }, { seq: 3 }]);
    await expect(stream.result).resolves.toBe("done");
  });

  it("a cancel for a call that already finished is harmless", async () => {
    const stream = client.sendStream("svc", "count", { n: 2 });
    expect(await collect(stream)).toHaveLength(2);
    stream.cancel(new Error("late"));
    await expect(stream.result).resolves.toEqual({ total: 2 });
    expect(await collect(client.sendStream("svc", "count", { n: 3 }))).toHaveLength(3);
    expect(observed.map((seen) => seen.yielded)).toEqual([2, 3]);
  });
});

const Arm = defineService({
  name: "arm",
  methods: {
    move_to: {
      params: z.object({ x: z.number(), steps: z.number().int().min(0) }),
      yields: z.object({ x: z.number(), progress: z.number().min(0).max(1) }),
      result: z.object({ x: z.number() }),
      idleTimeoutMs: 5_000,
    },
  },
});

describe("a plain call that may outlast its idle timeout", () => {
  it("says it is alive while it waits, so the server lets it run; a short one carries no promise", async () => {
    const broker = await brokerForTest(brokers[0][1]);
    let signal: AbortSignal | undefined;
    const { client } = await startedPair(broker, {
      handlers: {
        // Works for three and a half idle timeouts (the work takes this long; nothing waits on it to synchronise).
        work: async (_params: unknown, context: HandlerContext) => {
          signal = context.signal;
          await sleep(3_500);
          return { done: true };
        },
        quick: () => ({ done: true }),
      },
    });
    const raw = await broker.rawClient();
    const requests: Record<string, unknown>[] = [];
    const signsOfLife: Record<string, unknown>[] = [];
    raw.on("message", (topic, payload) => {
      const value = JSON.parse(payload.toString()) as Record<string, unknown>;
      if (topic.startsWith("svc/request/")) requests.push(value);
      else if (value.method === "rpc.credit") signsOfLife.push(value.params as Record<string, unknown>);
    });
    await raw.subscribeAsync(["svc/request/#", "svc/notification"], { qos: 1 });
    await expect(client.sendRequest("svc", "work", {}, { timeoutMs: 60_000, idleTimeoutMs: 1_000 })).resolves.toEqual({ done: true });
    expect(signal?.aborted).toBe(false);
    await expect(client.sendRequest("svc", "quick", {}, { timeoutMs: 500, idleTimeoutMs: 1_000 })).resolves.toEqual({ done: true });
    await vi.waitFor(() => expect(requests).toHaveLength(2), { timeout: 5_000, interval: 10 });
    expect(requests[0]).toMatchObject({ method: "work", alive: 1_000 });
    expect(requests[1]!.method).toBe("quick");
    expect(requests[1]).not.toHaveProperty("alive");
    // At least every 333 ms over 3.5 s: several, each granting nothing.
    expect(signsOfLife.length).toBeGreaterThanOrEqual(3);
    for (const params of signsOfLife) expect(params).toMatchObject({ id: requests[0]!.id, granted: 0 });
  });

  it("from a foreign peer without a deadline: an \"alive\" promise not kept aborts the handler, which still answers; a bad one is -32600", async () => {
    const broker = await brokerForTest(brokers[0][1]);
    const aborts: string[] = [];
    await started(broker, { agentName: "svc" }, {
      slow: (_params: unknown, context: HandlerContext) =>
        new Promise((resolve) => context.signal.addEventListener("abort", () => {
          aborts.push(String(context.signal.reason));
          resolve({ aborted: true });
        }, { once: true })),
    });
    const raw = await broker.rawClient();
    const answers: Record<string, unknown>[] = [];
    raw.on("message", (_topic, payload) => answers.push(JSON.parse(payload.toString()) as Record<string, unknown>));
    await raw.subscribeAsync("py/response", { qos: 1 });
    // As a Python peer sends it: no deadline, and no sign of life after the request.
    await raw.publishAsync("svc/request/slow", JSON.stringify({ jsonrpc: "2.0", id: "p1", method: "slow", params: {}, response_topic: "py/response", alive: 300 }), { qos: 1 });
    await vi.waitFor(() => expect(answers).toContainEqual({ jsonrpc: "2.0", id: "p1", result: { aborted: true } }), { timeout: 10_000, interval: 10 });
    expect(aborts).toEqual([expect.stringMatching(/sent no credit or sign of life for 300 ms/)]);
    for (const [id, alive] of [["p2", "soon"], ["p3", 0], ["p4", -1]] as const) {
      await raw.publishAsync("svc/request/slow", JSON.stringify({ jsonrpc: "2.0", id, method: "slow", params: {}, response_topic: "py/response", alive }), { qos: 1 });
    }
    await vi.waitFor(() => expect(answers).toHaveLength(4), { timeout: 10_000, interval: 10 });
    for (const answer of answers.slice(1)) expect(answer).toMatchObject({ error: { code: -32600, message: expect.stringMatching(/"alive" must be a number of milliseconds from 1 to 2\^31-1, got /) } });
    expect(aborts).toHaveLength(1); // the refused ones never ran
  });

  it("refuses an idleTimeoutMs that is not a positive number, naming it", async () => {
    const broker = await brokerForTest(brokers[0][1]);
    const { client } = await startedPair(broker, { handlers: { quick: () => 1 } });
    await expect(client.sendRequest("svc", "quick", {}, { idleTimeoutMs: -5 })).rejects.toThrow(/idleTimeoutMs must be a positive number of milliseconds up to 2\^31-1, got number -5/);
  });
});

describe("streams through contracts", () => {
  it("validates params before sending, each item on both ends, and the result", async () => {
    const broker = await brokerForTest(brokers[0][1]);
    const serverLog = recordingLogger();
    const { server, client } = await startedPair(broker, { serverName: "arm" });
    registerService(server, Arm, {
      async *move_to({ x, steps }: { x: number; steps: number }) {
        for (let step = 1; step <= steps; step++) yield { x: (x * step) / steps, progress: x < 0 && step === 2 ? 2 : step / steps };
        return { x };
      },
    }, { logger: serverLog });
    const arm = new ServiceClient(client, Arm, "arm");
    const stream = arm.stream("move_to", { x: 10, steps: 4 });
    expect(await collect(stream)).toEqual([
      { x: 2.5, progress: 0.25 },
      { x: 5, progress: 0.5 },
      { x: 7.5, progress: 0.75 },
      { x: 10, progress: 1 },
    ]);
    await expect(stream.result).resolves.toEqual({ x: 10 });
    const discovered = await client.sendRequest<{ methods: Record<string, unknown>[] }>("arm", "rpc.discover");
    expect(discovered.methods[0]).toMatchObject({ name: "move_to", "x-stream": true, "x-items": { name: "item", schema: { type: "object", required: ["x", "progress"] } } });
    // Its discovery record says which methods stream (what `mqtt-contracts ls` shows).
    await vi.waitFor(async () => expect((await discover({ connection: broker.options(), prefix: "arm", waitMs: 500 }))[0]).toMatchObject({ methods: ["move_to"], streams: ["move_to"] }), { timeout: 10_000, interval: 100 });

    expect(await failure(collect(arm.stream("move_to", { x: "far", steps: 1 })))).toBeInstanceOf(ValidationError);

    // The handler yields progress 2 at its second step: the server names its bug, the caller gets -32603 after the first item.
    const bad = arm.stream("move_to", { x: -1, steps: 3 });
    const items: unknown[] = [];
    const error = await failure((async () => {
      for await (const item of bad) items.push(item);
    })());
    expect(items).toHaveLength(1);
    expect(error).toMatchObject({ code: -32603, message: expect.stringMatching(/arm.move_to yielded an invalid item/) });
    expect(serverLog.lines.some((line) => line.level === "error" && /arm.move_to yielded an invalid item/.test(line.message))).toBe(true);

    // A server that sends what the contract does not allow: the caller's check catches it.
    const { server: rogue, client: caller } = await startedPair(broker, { serverName: "arm2" });
    rogue.registerHandler("move_to", async function* () {
      yield { x: 1, progress: 0.5 };
      yield { x: "one" };
      return { x: 1 };
    });
    const checked = new ServiceClient(caller, Arm, "arm2").stream("move_to", { x: 1, steps: 2 });
    const received: unknown[] = [];
    const invalid = await failure((async () => {
      for await (const item of checked) received.push(item);
    })());
    expect(received).toEqual([{ x: 1, progress: 0.5 }]);
    expect(invalid).toBeInstanceOf(ValidationError);
    expect((invalid as Error).message).toMatch(/Invalid item from arm.move_to/);
  });

  it("refuses stream() for a method without yields, naming it", async () => {
    const broker = await brokerForTest(brokers[0][1]);
    const client = await started(broker, { agentName: "c", serviceUrls: { calc: "calc" } });
    const Calc = defineService({ name: "calc", methods: { add: { params: z.object({ a: z.number() }), result: z.number() } } });
    const error = await failure(new ServiceClient(client, Calc, "calc").stream("add", { a: 1 }).result);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/calc.add does not stream/);
  });
});
