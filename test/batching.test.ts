import type { MqttClient } from "mqtt";
import { setTimeout as delay } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ExampleServiceClient, registerExampleService, type ExampleEchoParams } from "../generated/example.js";
import {
  ConfigurationError,
  MemoryBus,
  MemoryCommunicator,
  MethodNotFoundError,
  MqttCommunicator,
  RequestAbortedError,
  RequestTimeoutError,
  RpcError,
  ValidationError,
  type InboundMessage,
  type MqttCommunicatorOptions,
  type Params,
} from "mqtt-contracts";
import { brokerForTest, brokers, type TestBroker } from "./helpers/brokers.js";
import { started } from "./helpers/communicators.js";
import { inbox, isDiscoveryTopic, type Inbox, type ReceivedMessage } from "./helpers/inbox.js";
import { recordingLogger } from "./helpers/recording-logger.js";

type Entry = Record<string, unknown>;

/** How a call ended, in a form that snapshots well: its value, or the class, code, message and data of its error. */
function outcome(settled: PromiseSettledResult<unknown>): unknown {
  if (settled.status === "fulfilled") return { ok: settled.value };
  const error = settled.reason as Error & { code?: number; data?: unknown };
  return { error: error.name, code: error.code, message: error.message, ...(error.data === undefined ? {} : { data: error.data }) };
}

/** Sort answers by a stable key, for entries whose order on the wire is not part of the contract. */
function sorted(entries: unknown[]): unknown[] {
  return [...entries].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

describe.each(brokers)("auto-batching on %s", (_name, start) => {
  let broker: TestBroker;
  let server: MqttCommunicator;
  let client: MqttCommunicator;
  let serverLog: ReturnType<typeof recordingLogger>;
  let clientLog: ReturnType<typeof recordingLogger>;
  /** A foreign MQTT 3.1.1 peer subscribed to `#`: it sees every request, batch and answer. */
  let raw: MqttClient;
  let seen: Inbox;
  /** What the `note` handler was called with (requests and notifications alike). */
  let notes: unknown[];
  /** Resolves once a `slow` handler is running; `release()` lets every `slow` handler answer. */
  let entered: Promise<void>;
  let release: () => void;
  let serial = 0;

  beforeEach(async () => {
    broker = await brokerForTest(start);
    raw = await broker.rawClient();
    seen = inbox(raw);
    await raw.subscribeAsync("#", { qos: 1 });
    notes = [];
    let enter!: () => void;
    entered = new Promise((resolve) => (enter = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    serverLog = recordingLogger();
    server = await started(
      broker,
      { agentName: "svc", logger: serverLog },
      {
        echo: (params) => params,
        fail: () => {
          throw new Error("boom");
        },
        outOfStock: (params) => {
          throw new RpcError(4001, "out of stock", { data: params });
        },
        note: (params) => void notes.push(params),
        fence: (params) => params,
        slow: async () => {
          enter();
          await released;
          return "late";
        },
      },
    );
  });

  afterEach(() => {
    release();
    seen.dispose();
  });

  /** Start `client`, a `caller` that knows `svc`, with these options (batching is off unless given). */
  async function startClient(options: MqttCommunicatorOptions = {}): Promise<void> {
    clientLog = recordingLogger();
    client = await started(broker, { agentName: "caller", serviceUrls: { svc: "svc" }, options, logger: clientLog });
  }

  /** Requests the peer saw on `svc/request` and `svc/request/<method>`, parsed, before the fence. */
  function requests(): { topic: string; body: unknown }[] {
    return seen.messages.filter((m) => (m.topic === "svc/request" || m.topic.startsWith("svc/request/")) && !isFence(m)).map((m) => ({ topic: m.topic, body: JSON.parse(m.text) }));
  }

  /** Answers the peer saw on the client's response topic, parsed, without the fence's. */
  function answers(): unknown[] {
    return seen.on(client.responseTopic).filter((m) => !isFence(m)).map((m) => JSON.parse(m.text));
  }

  /** Batches (JSON arrays) published to `svc/request`. */
  function batches(): Entry[][] {
    return requests().filter((r) => r.topic === "svc/request").map((r) => r.body as Entry[]);
  }

  function isFence(message: ReceivedMessage): boolean {
    return message.text.includes('"fence"');
  }

  /**
   * A lone call from the client (it goes out as a plain request even with batching on), sent once
   * every earlier call has settled. Once the peer has seen its request and its answer, it has seen
   * every request the client published before and every answer the server published before.
   */
  async function clientFence(): Promise<void> {
    const n = ++serial;
    await expect(client.sendRequest("svc", "fence", { fence: n })).resolves.toEqual({ fence: n });
    await seen.waitFor((m) => m.topic === "svc/request/fence" && m.text.includes(`"fence":${n}`));
    await seen.waitFor((m) => m.topic === client.responseTopic && m.text.includes(`"fence":${n}`));
  }

  /**
   * The peer's fence: a batch of one request, so that its answer goes through the same per-turn
   * coalescing as any answer the service might give to what the peer sent before. Once it is here,
   * every earlier message of the peer has been handled and anything it caused has been published.
   */
  async function peerFence(): Promise<void> {
    const n = ++serial;
    const replyTo = `fence/${n}`;
    await raw.publishAsync("svc/request", JSON.stringify([{ jsonrpc: "2.0", id: `fence-${n}`, method: "fence", params: { fence: n }, response_topic: replyTo }]), { qos: 1 });
    expect(await seen.jsonOn(replyTo)).toEqual([{ jsonrpc: "2.0", id: `fence-${n}`, result: { fence: n } }]);
  }

  /** Every answer entry on `topic` once at least `count` have arrived; each message must be a batch (an array). */
  async function answerEntries(topic: string, count: number): Promise<unknown[]> {
    const entries = () => seen.on(topic).flatMap((m) => JSON.parse(m.text) as unknown[]);
    await vi.waitFor(() => expect(entries().length).toBeGreaterThanOrEqual(count), { timeout: 5_000, interval: 10 });
    for (const message of seen.on(topic)) expect(Array.isArray(JSON.parse(message.text)), message.text).toBe(true);
    return entries();
  }

  it("sends calls issued together as one batch and settles each with its own result or error", async () => {
    await startClient({ batching: { svc: true } });
    const outcomes = await Promise.allSettled([
      client.sendRequest("svc", "echo", { n: 1 }),
      client.sendRequest("svc", "fail"),
      client.sendRequest("svc", "outOfStock", { sku: "bolt" }),
      client.sendRequest("svc", "missing"),
      client.sendRequest("svc", "echo", [1, 2] as unknown as Params),
      client.sendRequest("svc", "echo", { n: 2 }),
    ]);
    expect(outcomes.map(outcome)).toMatchInlineSnapshot(`
      [
        {
          "ok": {
            "n": 1,
          },
        },
        {
          "code": -32000,
          "error": "RpcError",
          "message": "boom",
        },
        {
          "code": 4001,
          "data": {
            "sku": "bolt",
          },
          "error": "RpcError",
          "message": "out of stock",
        },
        {
          "code": -32601,
          "error": "MethodNotFoundError",
          "message": "Method not found: missing",
        },
        {
          "code": -32602,
          "error": "ValidationError",
          "message": "Invalid params: "params" must be an object, got an array",
        },
        {
          "ok": {
            "n": 2,
          },
        },
      ]
    `);
    const [, failed, outOfStock, missing, invalid] = outcomes.map((settled) => (settled as PromiseRejectedResult).reason as unknown);
    expect(failed).toBeInstanceOf(RpcError);
    expect(outOfStock).toBeInstanceOf(RpcError);
    expect(missing).toBeInstanceOf(MethodNotFoundError);
    expect(invalid).toBeInstanceOf(ValidationError);

    await clientFence();
    const sent = requests();
    expect(sent).toHaveLength(1);
    expect(sent[0]!.topic).toBe("svc/request");
    const batch = sent[0]!.body as Entry[];
    expect(batch.map(({ method, params }) => ({ method, params }))).toEqual([
      { method: "echo", params: { n: 1 } },
      { method: "fail", params: {} },
      { method: "outOfStock", params: { sku: "bolt" } },
      { method: "missing", params: {} },
      { method: "echo", params: [1, 2] },
      { method: "echo", params: { n: 2 } },
    ]);
    for (const entry of batch) expect(entry).toEqual({ jsonrpc: "2.0", id: expect.any(String), method: entry.method, params: entry.params, response_topic: client.responseTopic, deadline: expect.any(Number) });
    const ids = batch.map((entry) => entry.id);
    expect(new Set(ids).size).toBe(6);

    // The answers came back as batches too, each entry once, under the ids that were sent.
    const received = answers();
    expect(received.length).toBeGreaterThanOrEqual(1);
    for (const message of received) expect(Array.isArray(message)).toBe(true);
    expect((received as Entry[][]).flat().map((entry) => entry.id).sort()).toEqual([...ids].sort());
    expect(serverLog.lines.filter((line) => line.level !== "debug")).toEqual([{ level: "warn", message: "svc: handler for fail threw: boom" }]);
  });

  it("times out one entry of a batch while the others resolve, and drops its late answer", async () => {
    await startClient({ batching: { svc: true } });
    const [slow, first, second] = await Promise.allSettled([
      client.sendRequest("svc", "slow", {}, { timeoutMs: 300 }),
      client.sendRequest("svc", "echo", { n: 1 }),
      client.sendRequest("svc", "echo", { n: 2 }),
    ]);
    expect(first).toEqual({ status: "fulfilled", value: { n: 1 } });
    expect(second).toEqual({ status: "fulfilled", value: { n: 2 } });
    expect(slow.status).toBe("rejected");
    const error = (slow as PromiseRejectedResult).reason as unknown;
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect(error).toMatchObject({ message: expect.stringMatching(/^Request slow to svc timed out after 300 ms: no response came\. Is a service subscribed to svc\/request\/slow\? A broker whose ACL denies/), timeoutMs: 300, target: "svc" });

    await clientFence();
    expect(requests().map((r) => r.topic)).toEqual(["svc/request"]);
    const batch = batches()[0]!;
    expect(batch.map((entry) => entry.method)).toEqual(["slow", "echo", "echo"]);
    const slowId = batch[0]!.id as string;

    // The server still answers it, once its handler is done; nobody waits for it any more.
    release();
    const late = await seen.waitFor((m) => m.topic === client.responseTopic && m.text.includes(JSON.stringify(slowId)));
    expect(JSON.parse(late.text)).toEqual([{ jsonrpc: "2.0", id: slowId, result: "late" }]);
    await vi.waitFor(() => expect(clientLog.find("debug", new RegExp(`dropped a late or unknown response string "${slowId}"`))).toBeDefined(), { timeout: 5_000, interval: 10 });
  });

  it("aborts one entry of a batch in flight while the others resolve", async () => {
    await startClient({ batching: { svc: true } });
    const controller = new AbortController();
    const all = Promise.allSettled([
      client.sendRequest("svc", "echo", { n: 1 }),
      client.sendRequest("svc", "slow", {}, { signal: controller.signal }),
      client.sendRequest("svc", "echo", { n: 2 }),
    ]);
    await entered; // the batch reached the server, whose `slow` handler now runs
    const reason = new Error("user gave up");
    controller.abort(reason);
    const [first, slow, second] = await all;
    expect(first).toEqual({ status: "fulfilled", value: { n: 1 } });
    expect(second).toEqual({ status: "fulfilled", value: { n: 2 } });
    const error = (slow as PromiseRejectedResult).reason as unknown;
    expect(error).toBeInstanceOf(RequestAbortedError);
    expect((error as RequestAbortedError).cause).toBe(reason);
    await clientFence();
    expect(requests().map((r) => r.topic)).toEqual(["svc/request"]);
    expect(batches().map((batch) => batch.map((entry) => entry.method))).toEqual([["echo", "slow", "echo"]]);
  });

  it("does not send an entry aborted before the flush", async () => {
    await startClient({ batching: { svc: true } });
    const controller = new AbortController();
    const three = Promise.allSettled([
      client.sendRequest("svc", "echo", { n: 1 }),
      client.sendRequest("svc", "echo", { n: 2 }, { signal: controller.signal }),
      client.sendRequest("svc", "echo", { n: 3 }),
    ]);
    controller.abort(); // same turn: the batch has not gone out yet
    const outcomes = await three;
    expect(outcomes[0]).toEqual({ status: "fulfilled", value: { n: 1 } });
    expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(RequestAbortedError);
    expect(outcomes[2]).toEqual({ status: "fulfilled", value: { n: 3 } });

    // Of two, one left: it goes out alone, as a plain request.
    const other = new AbortController();
    const two = Promise.allSettled([client.sendRequest("svc", "echo", { n: 4 }, { signal: other.signal }), client.sendRequest("svc", "echo", { n: 5 })]);
    other.abort();
    const [aborted, alone] = await two;
    expect((aborted as PromiseRejectedResult).reason).toBeInstanceOf(RequestAbortedError);
    expect(alone).toEqual({ status: "fulfilled", value: { n: 5 } });

    await clientFence();
    const sent = requests();
    expect(sent.map((r) => ({ topic: r.topic, params: Array.isArray(r.body) ? r.body.map((entry: Entry) => entry.params) : (r.body as Entry).params }))).toEqual([
      { topic: "svc/request", params: [{ n: 1 }, { n: 3 }] },
      { topic: "svc/request/echo", params: { n: 5 } },
    ]);
    // The ids on the wire are exactly those of the calls that were answered.
    const sentIds = sent.flatMap((r) => (Array.isArray(r.body) ? r.body : [r.body]).map((entry: Entry) => entry.id));
    const answeredIds = answers().flatMap((a) => (Array.isArray(a) ? a : [a]).map((entry: Entry) => entry.id));
    expect(sentIds).toHaveLength(3);
    expect([...answeredIds].sort()).toEqual([...sentIds].sort());
  });

  it("runs every notification of a batch and publishes nothing in answer", async () => {
    await startClient();
    const note = (n: number, extra: Entry = {}) => ({ jsonrpc: "2.0", method: "note", params: { n }, ...extra });
    // On the request topic, entries without an id are notifications, even if they name a response topic.
    await raw.publishAsync("svc/request", JSON.stringify([note(1), note(2, { response_topic: "batch/reply/n" })]), { qos: 1 });
    // On a notification topic, every entry is a notification, even one with an id.
    await raw.publishAsync("svc/notification/x", JSON.stringify([note(3), note(4, { id: 9, response_topic: "batch/reply/n" })]), { qos: 1 });
    await peerFence();
    expect(notes).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }]);
    expect(seen.messages.map((m) => m.topic).filter((topic) => !isDiscoveryTopic(topic))).toEqual(["svc/request", "svc/notification/x", "svc/request", `fence/${serial}`]);
    expect(serverLog.lines.filter((line) => line.level !== "debug")).toEqual([]);
  });

  it("splits a batch larger than maxBatchSize", async () => {
    await startClient({ batching: { svc: { maxBatchSize: 4 } } });
    const results = await Promise.all(Array.from({ length: 10 }, (_, n) => client.sendRequest("svc", "echo", { n })));
    expect(results).toEqual(Array.from({ length: 10 }, (_, n) => ({ n })));
    await clientFence();
    expect(requests().every((r) => r.topic === "svc/request")).toBe(true);
    expect(batches().map((batch) => batch.map((entry) => (entry.params as { n: number }).n))).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
    const ids = batches().flat().map((entry) => entry.id);
    expect(new Set(ids).size).toBe(10);
    expect(
      answers()
        .flatMap((a) => a as Entry[])
        .map((entry) => entry.id)
        .sort(),
    ).toEqual([...ids].sort());
  });

  it("answers a malformed batch entry by entry, never crashes, and keeps serving", async () => {
    await startClient();
    const echo = (id: unknown, extra: Entry = {}) => ({ jsonrpc: "2.0", id, method: "echo", params: { id }, ...extra });
    const send = (payload: unknown) => raw.publishAsync("svc/request", JSON.stringify(payload), { qos: 1 });

    await send([]);
    await send([1, "x", null, [], echo("v1", { response_topic: "batch/reply/mixed" })]);
    await send([echo(1, { response_topic: "batch/reply/dup" }), echo(1), echo(2)]);
    // "a" has no response topic of its own: it is answered where the batch's first usable one points.
    await send([echo("a"), echo("b", { response_topic: "batch/reply/b" }), echo("c", { response_topic: "batch/reply/c" })]);
    // Nothing in this batch says where to answer.
    await send([echo("lost"), 7]);

    const mixed = sorted(await answerEntries("batch/reply/mixed", 5));
    const dup = sorted(await answerEntries("batch/reply/dup", 3));
    const b = sorted(await answerEntries("batch/reply/b", 2));
    const c = await answerEntries("batch/reply/c", 1);
    await peerFence();
    expect({ mixed, dup, b, c }).toMatchInlineSnapshot(`
      {
        "b": [
          {
            "id": "a",
            "jsonrpc": "2.0",
            "result": {
              "id": "a",
            },
          },
          {
            "id": "b",
            "jsonrpc": "2.0",
            "result": {
              "id": "b",
            },
          },
        ],
        "c": [
          {
            "id": "c",
            "jsonrpc": "2.0",
            "result": {
              "id": "c",
            },
          },
        ],
        "dup": [
          {
            "error": {
              "code": -32600,
              "message": "Invalid Request: id number 1 appears more than once in the batch",
            },
            "id": 1,
            "jsonrpc": "2.0",
          },
          {
            "error": {
              "code": -32600,
              "message": "Invalid Request: id number 1 appears more than once in the batch",
            },
            "id": 1,
            "jsonrpc": "2.0",
          },
          {
            "id": 2,
            "jsonrpc": "2.0",
            "result": {
              "id": 2,
            },
          },
        ],
        "mixed": [
          {
            "id": "v1",
            "jsonrpc": "2.0",
            "result": {
              "id": "v1",
            },
          },
          {
            "error": {
              "code": -32600,
              "message": "Invalid Request: expected a JSON object, got an array",
            },
            "id": null,
            "jsonrpc": "2.0",
          },
          {
            "error": {
              "code": -32600,
              "message": "Invalid Request: expected a JSON object, got null",
            },
            "id": null,
            "jsonrpc": "2.0",
          },
          {
            "error": {
              "code": -32600,
              "message": "Invalid Request: expected a JSON object, got number",
            },
            "id": null,
            "jsonrpc": "2.0",
          },
          {
            "error": {
              "code": -32600,
              "message": "Invalid Request: expected a JSON object, got string",
            },
            "id": null,
            "jsonrpc": "2.0",
          },
        ],
      }
    `);
    // Nothing more than that was answered, anywhere.
    expect(await answerEntries("batch/reply/mixed", 5)).toHaveLength(5);
    expect(await answerEntries("batch/reply/dup", 3)).toHaveLength(3);
    expect(await answerEntries("batch/reply/b", 2)).toHaveLength(2);
    expect(await answerEntries("batch/reply/c", 1)).toHaveLength(1);
    expect(seen.messages.filter((m) => !m.topic.startsWith("svc/") && !m.topic.startsWith("batch/reply/") && !m.topic.startsWith("fence/") && !isDiscoveryTopic(m.topic))).toEqual([]);
    expect(serverLog.lines.filter((line) => line.level !== "debug").map((line) => `${line.level}: ${line.message}`)).toMatchInlineSnapshot(`
      [
        "warn: svc: dropped a request on svc/request: Invalid Request: empty batch (it has no response topic)",
        "warn: svc: dropped batch entry string "lost" for echo: it has no response topic",
        "warn: svc: dropped a batch entry on svc/request: Invalid Request: expected a JSON object, got number (no usable response topic)",
      ]
    `);
    expect(server.started).toBe(true);
    // A well-formed call from a real client is still served.
    await expect(client.sendRequest("svc", "echo", { after: "malformed" })).resolves.toEqual({ after: "malformed" });
  });

  it("validates params of a generated client per call: an invalid call is refused and left out of the batch", async () => {
    const serverLogger = recordingLogger();
    registerExampleService(
      server,
      {
        get_status: () => ({ status: "running", agent_name: "svc" }),
        echo: ({ message }) => ({ original: message, echo: message }),
        log: () => undefined,
      },
      { logger: serverLogger },
    );
    await startClient({ batching: { svc: true } });
    const example = new ExampleServiceClient(client, "svc");
    const outcomes = await Promise.allSettled([
      example.echo({ message: "a" }),
      example.echo({ message: 42 } as unknown as ExampleEchoParams),
      example.get_status(),
      example.echo({ message: "b" }),
    ]);
    expect(outcomes.map(outcome)).toMatchInlineSnapshot(`
      [
        {
          "ok": {
            "echo": "a",
            "original": "a",
          },
        },
        {
          "code": -32602,
          "data": {
            "issues": [
              {
                "code": "invalid_type",
                "expected": "string",
                "message": "Invalid input: expected string, received number",
                "path": [
                  "message",
                ],
              },
            ],
          },
          "error": "ValidationError",
          "message": "Invalid params for example.echo: message: Invalid input: expected string, received number",
        },
        {
          "ok": {
            "agent_name": "svc",
            "status": "running",
          },
        },
        {
          "ok": {
            "echo": "b",
            "original": "b",
          },
        },
      ]
    `);
    expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(ValidationError);

    await clientFence();
    expect(requests().map((r) => r.topic)).toEqual(["svc/request"]);
    expect(batches()[0]!.map(({ method, params }) => ({ method, params }))).toEqual([
      { method: "echo", params: { message: "a" } },
      { method: "get_status", params: {} },
      { method: "echo", params: { message: "b" } },
    ]);
    expect(serverLogger.lines).toEqual([]);
  });

  it("is off by default: concurrent calls go out as separate plain requests", async () => {
    await startClient();
    const results = await Promise.all([1, 2, 3].map((n) => client.sendRequest("svc", "echo", { n })));
    expect(results).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    await clientFence();
    const sent = requests();
    expect(sent.map((r) => r.topic)).toEqual(["svc/request/echo", "svc/request/echo", "svc/request/echo"]);
    expect(sent.map((r) => (r.body as Entry).params)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    for (const answer of answers()) expect(answer).toEqual({ jsonrpc: "2.0", id: expect.any(String), result: expect.any(Object) });
    expect(answers()).toHaveLength(3);
  });

  it("refuses to batch a service that is not in serviceUrls, and bad batch settings", () => {
    const make = (batching: MqttCommunicatorOptions["batching"]) => () =>
      new MqttCommunicator({ agentName: "caller", serviceUrls: { svc: "svc" }, options: broker.options({ batching }), logger: recordingLogger() });
    expect(make({ other: true })).toThrow(ConfigurationError);
    expect(make({ other: true })).toThrowErrorMatchingInlineSnapshot(`[ConfigurationError: batching.other: "other" is not in serviceUrls of caller]`);
    expect(make({ svc: { maxBatchSize: 0 } })).toThrowErrorMatchingInlineSnapshot(`[ConfigurationError: Invalid mqtt communicator options for caller: communicatorOptions.batching.svc.maxBatchSize: Too small: expected number to be >=1]`);
    expect(make({ svc: { maxWaitMs: -1 } })).toThrowErrorMatchingInlineSnapshot(`[ConfigurationError: Invalid mqtt communicator options for caller: communicatorOptions.batching.svc.maxWaitMs: Too small: expected number to be >=0]`);
  });

  it("collects calls issued within maxWaitMs into one batch", async () => {
    await startClient({ batching: { svc: { maxWaitMs: 50 } } });
    const calls = [client.sendRequest("svc", "echo", { n: 1 })];
    await delay(5); // the scenario, not a synchronisation: the calls are 5 ms apart
    calls.push(client.sendRequest("svc", "echo", { n: 2 }));
    await delay(5);
    calls.push(client.sendRequest("svc", "echo", { n: 3 }));
    expect(await Promise.all(calls)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    await clientFence();
    expect(requests().map((r) => r.topic)).toEqual(["svc/request"]);
    expect(batches()[0]!.map((entry) => entry.params)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
  });
});

describe("auto-batching on the memory communicator", () => {
  let bus: MemoryBus;
  let wire: InboundMessage[];
  let server: MemoryCommunicator;
  let client: MemoryCommunicator;

  beforeEach(async () => {
    bus = new MemoryBus();
    const messages: InboundMessage[] = [];
    wire = messages;
    bus.subscribe(["#"], (message) => messages.push(message));
    server = new MemoryCommunicator({ agentName: "svc", options: { bus }, logger: recordingLogger() });
    server.registerHandler("echo", (params) => params);
    server.registerHandler("fail", () => {
      throw new Error("boom");
    });
    client = new MemoryCommunicator({ agentName: "caller", serviceUrls: { svc: "svc" }, options: { bus, batching: { svc: { maxBatchSize: 3 } } }, logger: recordingLogger() });
    await server.start();
    await client.start();
  });

  afterEach(async () => {
    await client.stop();
    await server.stop();
  });

  it("batches the same way: one array per chunk, each call settled on its own", async () => {
    const outcomes = await Promise.allSettled([
      client.sendRequest("svc", "echo", { n: 1 }),
      client.sendRequest("svc", "fail"),
      client.sendRequest("svc", "missing"),
      client.sendRequest("svc", "echo", { n: 2 }),
    ]);
    expect(outcomes.map(outcome)).toMatchInlineSnapshot(`
      [
        {
          "ok": {
            "n": 1,
          },
        },
        {
          "code": -32000,
          "error": "RpcError",
          "message": "boom",
        },
        {
          "code": -32601,
          "error": "MethodNotFoundError",
          "message": "Method not found: missing",
        },
        {
          "ok": {
            "n": 2,
          },
        },
      ]
    `);
    const fence = await client.sendRequest("svc", "echo", { fence: true });
    expect(fence).toEqual({ fence: true });
    await vi.waitFor(() => expect(wire.filter((m) => m.topic === client.responseTopic && Buffer.from(m.payload).toString("utf8").includes('"fence"'))).toHaveLength(1), {
      timeout: 2_000,
      interval: 10,
    });
    const parsed = wire.filter((m) => !isDiscoveryTopic(m.topic)).map((m) => ({ topic: m.topic, body: JSON.parse(Buffer.from(m.payload).toString("utf8")) as unknown }));
    const requests = parsed.filter((m) => m.topic.startsWith("svc/request"));
    expect(requests.map((m) => (Array.isArray(m.body) ? { topic: m.topic, methods: (m.body as Entry[]).map((entry) => entry.method) } : { topic: m.topic }))).toEqual([
      { topic: "svc/request", methods: ["echo", "fail", "missing"] },
      { topic: "svc/request/echo" },
      { topic: "svc/request/echo" },
    ]);
    const batchAnswers = parsed.filter((m) => m.topic === client.responseTopic && Array.isArray(m.body));
    expect(batchAnswers.flatMap((m) => m.body as Entry[])).toHaveLength(3);
  });
});
