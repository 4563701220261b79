import type { MqttClient } from "mqtt";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  CommunicationError,
  ConfigurationError,
  MemoryBus,
  MemoryCommunicator,
  MethodNotFoundError,
  MqttCommunicator,
  RequestAbortedError,
  RequestTimeoutError,
  RpcError,
  ValidationError,
} from "mqtt-contracts";
import { brokerForTest, brokers, type TestBroker } from "./helpers/brokers.js";
import { communicator, started } from "./helpers/communicators.js";
import { inbox, type Inbox } from "./helpers/inbox.js";
import { recordingLogger } from "./helpers/recording-logger.js";

/**
 * The OpenMAS built-in format, spoken by a raw MQTT 3.1.1 peer: what a server of ours answers, what it
 * refuses, and how a client of ours reads answers, including hostile ones.
 */
describe.each(brokers)("the OpenMAS built-in format on %s", (_name, start) => {
  let broker: TestBroker;
  let log: ReturnType<typeof recordingLogger>;
  let server: MqttCommunicator;
  /** A foreign peer subscribed to everything: it sees every answer the service publishes. */
  let peer: MqttClient;
  let seen: Inbox;
  let serial = 0;
  let echoRuns = 0;

  beforeEach(async () => {
    broker = await brokerForTest(start);
    log = recordingLogger();
    echoRuns = 0;
    server = await started(
      broker,
      { agentName: "svc", options: { wireFormat: "openmas", maxPayloadBytes: 1024 }, logger: log },
      {
        echo: (params) => {
          echoRuns++;
          return params;
        },
      },
    );
    peer = await broker.rawClient();
    seen = inbox(peer);
    await peer.subscribeAsync(["#"], { qos: 1 });
  });

  afterEach(() => seen.dispose());

  function send(topic: string, payload: string | Buffer): Promise<unknown> {
    return peer.publishAsync(topic, payload, { qos: 1 });
  }

  /** Send an OpenMAS request from agent `peer` and return the parsed answer. */
  async function answerTo(fields: Record<string, unknown>, method = "echo"): Promise<Record<string, unknown>> {
    const id = `req-${++serial}`;
    await send(`openmas/svc/request/${method}`, JSON.stringify({ id, source: "peer", target: "svc", timestamp: Date.now(), ...fields }));
    return (await seen.jsonOn(`openmas/peer/response/${String(fields.id ?? id)}`)) as Record<string, unknown>;
  }

  /** A well-formed request is answered (so everything sent before it was handled), with no error logged. */
  async function expectStillServing(): Promise<void> {
    const n = ++serial;
    const answer = await answerTo({ params: { n } });
    expect(answer.result).toEqual({ n });
    expect(server.started).toBe(true);
    expect(log.lines.filter((line) => line.level === "error")).toEqual([]);
  }

  it("answers a request on <root>/<source>/response/<id> with the payload OpenMAS expects", async () => {
    const answer = await answerTo({ id: "abc-1", method: "echo", params: { message: "hi" } });
    expect(answer).toEqual({ id: "abc-1", source: "svc", target: "peer", timestamp: expect.any(Number), result: { message: "hi" } });
    expect(Math.abs((answer.timestamp as number) - Date.now())).toBeLessThan(60_000);
  });

  it("answers 404, 422 and 400 with OpenMAS codes and details", async () => {
    expect((await answerTo({ params: {} }, "nope")).error).toEqual({ code: 404, message: "Method not found: nope", details: "MethodNotFoundError" });
    expect((await answerTo({ params: [1, 2] })).error).toMatchObject({ code: 422, details: "ValidationError", message: expect.stringContaining('"params" must be an object') });
    expect((await answerTo({ method: "other", params: {} })).error).toMatchObject({ code: 400, details: "InvalidRequest", message: expect.stringContaining('differs from the topic') });
    expect((await answerTo({ deadline: "soon", params: {} })).error).toMatchObject({ code: 400, message: expect.stringContaining('"deadline" must be a number') });
    expect(echoRuns).toBe(0);
    await expectStillServing();
  });

  it("answers 408 to a request whose deadline has passed, without running it", async () => {
    const answer = await answerTo({ params: {}, deadline: Date.now() - 60_000 });
    expect(answer.error).toMatchObject({ code: 408, details: "RequestTimeoutError", message: expect.stringContaining("deadline") });
    expect(echoRuns).toBe(0);
  });

  it("takes the method from the payload when the topic stops at request", async () => {
    await send("openmas/svc/request", JSON.stringify({ id: "plain-1", source: "peer", method: "echo", params: { a: 1 } }));
    expect(await seen.jsonOn("openmas/peer/response/plain-1")).toMatchObject({ result: { a: 1 } });
    await send("openmas/svc/request", JSON.stringify({ id: "plain-2", source: "peer", params: {} }));
    expect(await seen.jsonOn("openmas/peer/response/plain-2")).toMatchObject({ error: { code: 400 } });
  });

  it("drops what it cannot answer (a source or id that is not one topic level, not JSON, too large) and keeps serving", async () => {
    const unanswerable: unknown[] = [
      { id: "u1", source: "a/b", params: {} },
      { id: "u2", source: "+", params: {} },
      { id: "u3", source: "x#", params: {} },
      { id: "u4", source: "", params: {} },
      { id: "u5", source: 7, params: {} },
      { id: "u6", params: {} },
      { id: "a/b", source: "peer", params: {} },
      { id: "+", source: "peer", params: {} },
      { id: { nested: 1 }, source: "peer", params: {} },
      { source: "peer", params: {} },
      { id: "u7", source: "bad\u0000name", params: {} },
      [1, 2, 3],
      "a string",
      null,
    ];
    for (const payload of unanswerable) await send("openmas/svc/request/echo", JSON.stringify(payload));
    await send("openmas/svc/request/echo", "{not json");
    await send("openmas/svc/request/echo", JSON.stringify({ id: "big", source: "peer", params: { pad: "x".repeat(2000) } }));
    await expectStillServing();
    expect(echoRuns).toBe(1); // only expectStillServing's request ran
    const answers = seen.messages.filter((m) => m.topic.includes("/response/") && !m.topic.startsWith("openmas/peer/response/req-"));
    expect(answers.map((m) => m.topic)).toEqual([]);
    // The first is logged at once; the rest of the kind are counted (rate-limited warnings).
    expect(log.find("warn", /dropped an OpenMAS request on openmas\/svc\/request\/echo: "source" string "a\/b" must be one topic level/)).toBeDefined();
  });

  it("runs a request sent twice with the same id and source once, and answers both", async () => {
    const payload = JSON.stringify({ id: "dup-1", source: "peer", params: { d: 1 } });
    await send("openmas/svc/request/echo", payload);
    await send("openmas/svc/request/echo", payload);
    const both = await seen.allOn("openmas/peer/response/dup-1", 2);
    expect(both.map((m) => JSON.parse(m.text).result)).toEqual([{ d: 1 }, { d: 1 }]);
    expect(echoRuns).toBe(1);
  });

  it("serves notifications on <root>/<agent>/notification/<method>, and drops bad ones without running a handler", async () => {
    const got: unknown[] = [];
    let arrived!: () => void;
    const done = new Promise<void>((resolve) => (arrived = resolve));
    server.registerHandler("log", (params) => {
      got.push(params);
      arrived();
    });
    await send("openmas/svc/notification/log", JSON.stringify({ params: [1] }));
    await send("openmas/svc/notification/log", "not json");
    await send("openmas/svc/notification/log", JSON.stringify("text"));
    await send("openmas/svc/notification", JSON.stringify({ params: {} }));
    await send("openmas/svc/notification/log", JSON.stringify({ id: "n1", source: "peer", target: "svc", method: "log", params: { message: "hello" }, timestamp: 1, type: "notification" }));
    await done;
    expect(got).toEqual([{ message: "hello" }]);
    await expectStillServing();
    expect(log.find("warn", /dropped an OpenMAS notification/)).toBeDefined();
  });

  it("drops a request whose answer topic would be too long for MQTT, and keeps its connection and serving", async () => {
    await started(broker, { agentName: "big", options: { wireFormat: "openmas" }, logger: log }, { echo: (params) => params });
    // Each level is fine on its own; the answer topic openmas/<source>/response/<id> would be ~65 540 bytes.
    await send("openmas/big/request/echo", JSON.stringify({ id: "long-1", source: "x y".repeat(21_845), params: {} }));
    for (let n = 0; n < 3; n++) {
      await send("openmas/big/request/echo", JSON.stringify({ id: `after-${n}`, source: "peer", params: { n } }));
      expect(await seen.jsonOn(`openmas/peer/response/after-${n}`)).toMatchObject({ result: { n } });
    }
    expect(log.find("warn", /dropped an OpenMAS request on openmas\/big\/request\/echo: its answer topic .* must be at most 65535 bytes/)).toBeDefined();
    expect(seen.messages.filter((m) => m.topic.includes("long-1"))).toEqual([]);
    expect(log.lines.filter((line) => line.level === "error")).toEqual([]);
  });

  it("refuses to publish to a topic longer than MQTT allows, and keeps its connection", async () => {
    const client = await started(broker, { agentName: "caller", serviceUrls: { svc: "svc" } });
    await expect(client.sendNotification("svc", "m".repeat(65_530))).rejects.toThrow(/Cannot publish to a topic of 65547 bytes \(MQTT allows 65535\)/);
    expect(await client.sendRequest("svc", "echo", { still: "connected" })).toEqual({ still: "connected" });
  });

  it("shares OpenMAS requests among the members that have the agent's name, when a group's members have different names", async () => {
    const runs: string[] = [];
    const instances = ["worker-1", "worker-2"].map(
      (agentName) => communicator(broker, { agentName, options: { wireFormat: "openmas", topicPrefix: "pool2", sharedGroup: "g", sharedRouting: "instances" } }),
    );
    for (const instance of instances) {
      instance.registerHandler("work", ({ n }) => {
        runs.push(`${instance.agentName}:${String(n)}`);
        return n;
      });
      await instance.start();
    }
    await vi.waitFor(() => expect(instances.every((instance) => instance.liveInstances().length === 2)).toBe(true), { timeout: 10_000 });
    for (let n = 0; n < 20; n++) await send("openmas/worker-1/request/work", JSON.stringify({ id: `g-${n}`, source: "peer", params: { n } }));
    const answers = await Promise.all(Array.from({ length: 20 }, (_, n) => seen.jsonOn(`openmas/peer/response/g-${n}`, 10_000)));
    expect(answers.map((a) => (a as { result: number }).result)).toEqual(Array.from({ length: 20 }, (_, n) => n));
    // Only worker-1 receives openmas/worker-1/...: it runs every one of them, once.
    expect(runs.sort()).toEqual(Array.from({ length: 20 }, (_, n) => `worker-1:${n}`).sort());
  });

  it("lets a running OpenMAS-format request answer when it stops", async () => {
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    server.registerHandler("slow", async ({ ms }: { ms: number }, context) => {
      started();
      await new Promise((resolve) => setTimeout(resolve, ms));
      return { aborted: context.signal.aborted };
    });
    await send("openmas/svc/request/slow", JSON.stringify({ id: "s1", source: "peer", params: { ms: 200 } }));
    await running;
    await server.stop();
    expect(await seen.jsonOn("openmas/peer/response/s1")).toMatchObject({ id: "s1", source: "svc", target: "peer", result: { aborted: false } });
  });

  it("still serves JSON-RPC on its prefix beside the OpenMAS topics", async () => {
    await send("svc/request/echo", JSON.stringify({ jsonrpc: "2.0", id: 1, method: "echo", params: { j: 1 }, response_topic: "jr/1" }));
    expect(await seen.jsonOn("jr/1")).toEqual({ jsonrpc: "2.0", id: 1, result: { j: 1 } });
  });

  describe("a client calling an OpenMAS-format service", () => {
    let client: MqttCommunicator;
    let clientLog: ReturnType<typeof recordingLogger>;
    /** A raw peer serving `target` in the OpenMAS format, answering with whatever the test scripts. */
    let target: MqttClient;
    let requests: Inbox;

    beforeEach(async () => {
      clientLog = recordingLogger();
      client = await started(broker, {
        agentName: "caller",
        serviceUrls: { target: "ignored-in-this-format", svc: "svc" },
        options: { serviceWireFormats: { target: "openmas", svc: "openmas" } },
        logger: clientLog,
      });
      target = await broker.rawClient();
      requests = inbox(target);
      await target.subscribeAsync("openmas/target/request/#", { qos: 1 });
    });

    afterEach(() => requests.dispose());

    /** Start a call to `target`, and return it with the request as the peer read it. */
    async function call(method: string, params: Record<string, unknown> = {}, options = {}) {
      const result = client.sendRequest("target", method, params, options);
      result.catch(() => undefined);
      const message = await requests.waitFor((m) => m.topic === `openmas/target/request/${method}` && !handled.has(m));
      handled.add(message);
      return { result, request: JSON.parse(message.text) as Record<string, unknown> };
    }
    const handled = new Set<unknown>();

    function answer(request: Record<string, unknown>, body: Record<string, unknown> | string, id = request.id): Promise<unknown> {
      const payload = typeof body === "string" ? body : JSON.stringify({ id, source: "target", target: "caller", timestamp: Date.now(), ...body });
      return target.publishAsync(`openmas/caller/response/${String(id)}`, payload, { qos: 1 });
    }

    it("sends the OpenMAS request payload to <root>/<service>/request/<method>", async () => {
      const { result, request } = await call("echo", { message: "hi" }, { timeoutMs: 10_000 });
      expect(request).toEqual({ id: expect.any(String), source: "caller", target: "target", method: "echo", params: { message: "hi" }, timestamp: expect.any(Number), deadline: expect.any(Number) });
      expect(request.deadline as number).toBeGreaterThan(request.timestamp as number);
      await answer(request, { result: { ok: true } });
      expect(await result).toEqual({ ok: true });
    });

    it("maps OpenMAS error codes to its error classes, keeping message and details", async () => {
      const cases: [Record<string, unknown>, (error: unknown) => void][] = [
        [{ code: 404, message: "Method 'x' not found", details: "MethodNotFoundError" }, (e) => expect(e).toMatchObject({ name: "MethodNotFoundError", code: -32601, message: "Method 'x' not found", data: "MethodNotFoundError" })],
        [{ code: 422, message: "bad params", details: "ValidationError", data: { issues: [1] } }, (e) => expect(e).toMatchObject({ name: "ValidationError", code: -32602, data: { issues: [1] } })],
        [{ code: 500, message: "boom", details: "ValueError" }, (e) => expect(e).toMatchObject({ name: "RpcError", code: -32000, message: "boom", data: "ValueError", details: { method: "m", code: 500, details: "ValueError" } })],
        [{ code: 500, message: "internal", details: "InternalError" }, (e) => expect(e).toMatchObject({ code: -32603 })],
        [{ code: 400, message: "broken", details: "InvalidRequest" }, (e) => expect(e).toMatchObject({ code: -32600 })],
        [{ code: 4001, message: "out of stock", details: "OutOfStock" }, (e) => expect(e).toMatchObject({ name: "RpcError", code: 4001, message: "out of stock" })],
        [{ code: 408, message: "too late", details: "RequestTimeoutError" }, (e) => expect(e).toMatchObject({ name: "RequestTimeoutError", timeoutMs: 10_000, message: expect.stringContaining("too late") })],
      ];
      for (const [error, check] of cases) {
        const { result, request } = await call("m", {}, { timeoutMs: 10_000 });
        await answer(request, { error });
        const thrown = await result.then(() => undefined, (reason: unknown) => reason);
        check(thrown);
      }
      const thrown = await call("m", {}, { timeoutMs: 10_000 }).then(async ({ result, request }) => {
        await answer(request, { error: { code: 404, message: "x" } });
        return result.catch((reason: unknown) => reason);
      });
      expect(thrown).toBeInstanceOf(MethodNotFoundError);
    });

    it("drops an answer whose id is not the topic's, ignores answers to calls it never made, and settles with the real answer", async () => {
      const { result, request } = await call("echo", {}, { timeoutMs: 10_000 });
      await answer(request, JSON.stringify({ id: "someone-else", result: "forged" }), request.id);
      await target.publishAsync("openmas/caller/response/not-ours", JSON.stringify({ id: "not-ours", result: 1 }), { qos: 1 });
      await target.publishAsync(`openmas/caller/response/${String(request.id)}`, "x".repeat(2 * 1024 * 1024), { qos: 1 });
      await answer(request, { result: "real" });
      expect(await result).toBe("real");
      expect(clientLog.find("warn", /is not the one in the topic/)).toBeDefined();
    });

    it("warns once when a second answer comes to one call: more than one agent has the target's name", async () => {
      const { result, request } = await call("echo", {}, { timeoutMs: 10_000 });
      const first = JSON.stringify({ id: request.id, source: "target", target: "caller", timestamp: Date.now(), result: "first" });
      await answer(request, first);
      expect(await result).toBe("first");
      // A copy of the same message (a QoS 1 redelivery) is dropped silently; one with other content is a second answer.
      await answer(request, first);
      await answer(request, { result: "second" });
      await vi.waitFor(() => expect(clientLog.find("warn", /a second answer came to one echo request to target: more than one agent named target serves openmas\/target\/request\/#/)).toBeDefined());
      expect(clientLog.lines.filter((line) => line.level === "warn" && /a second answer/.test(line.message))).toHaveLength(1);
    });

    it("rejects a call whose answer is malformed, and keeps its connection", async () => {
      for (const body of ["not json", JSON.stringify([1]), JSON.stringify({ error: "text" }), JSON.stringify({ error: { code: "x", message: 1 } })]) {
        const { result, request } = await call("echo", {}, { timeoutMs: 10_000 });
        await answer(request, body);
        if (body === "not json") {
          // Not JSON: nothing to settle with; the call goes on until the real answer.
          await answer(request, { result: "after garbage" });
          expect(await result).toBe("after garbage");
          continue;
        }
        await expect(result).rejects.toThrow(/Malformed answer to echo from target/);
      }
      expect(client.started).toBe(true);
    });

    it("times out, aborts and cancels on stop like a JSON-RPC call", async () => {
      const timedOut = await call("echo", {}, { timeoutMs: 200 });
      await expect(timedOut.result).rejects.toBeInstanceOf(RequestTimeoutError);
      await expect(timedOut.result).rejects.toThrow(/openmas\/target\/request\/echo/);
      await answer(timedOut.request, { result: "late" }); // a late answer is dropped
      const controller = new AbortController();
      const aborted = await call("echo", {}, { signal: controller.signal, timeoutMs: 10_000 });
      controller.abort();
      await expect(aborted.result).rejects.toBeInstanceOf(RequestAbortedError);
      const cancelled = await call("echo", {}, { timeoutMs: 10_000 });
      await client.stop();
      await expect(cancelled.result).rejects.toThrow(/cancelled: caller stopped/);
    });

    it("calls an mqtt-contracts server in the OpenMAS format with the same results and errors", async () => {
      expect(await client.sendRequest("svc", "echo", { x: 1 })).toEqual({ x: 1 });
      await expect(client.sendRequest("svc", "nope")).rejects.toBeInstanceOf(MethodNotFoundError);
      server.registerHandler("fail", () => {
        throw new RpcError(4001, "out of stock", { data: { sku: "a" } });
      });
      await expect(client.sendRequest("svc", "fail")).rejects.toMatchObject({ code: 4001, message: "out of stock", data: { sku: "a" } });
      server.registerHandler("invalid", () => {
        throw new ValidationError("Invalid params: nope", { data: { issues: [] } });
      });
      await expect(client.sendRequest("svc", "invalid")).rejects.toBeInstanceOf(ValidationError);
      await expect(client.sendRequest("svc", "a/b")).rejects.toBeInstanceOf(ConfigurationError);
    });
  });

  it("shares OpenMAS-format requests in a sharedGroup: each runs on one instance", async () => {
    const runs = new Map<string, number>();
    const instances = [0, 1].map(
      (i) => communicator(broker, { agentName: "pool", options: { wireFormat: "openmas", sharedGroup: "workers", clientId: `pool-${i}`, shareProbeMs: 1_000 } }),
    );
    for (const instance of instances) {
      instance.registerHandler("work", ({ n }) => {
        runs.set(String(n), (runs.get(String(n)) ?? 0) + 1);
        return { n, by: instance.clientId };
      });
      await instance.start();
    }
    // Both see each other's record before the requests go.
    await vi.waitFor(() => expect(instances.every((instance) => instance.liveInstances().length === 2)).toBe(true), { timeout: 10_000 });
    for (let n = 0; n < 40; n++) await send("openmas/pool/request/work", JSON.stringify({ id: `w-${n}`, source: "peer", params: { n } }));
    const answers = await Promise.all(Array.from({ length: 40 }, (_, n) => seen.jsonOn(`openmas/peer/response/w-${n}`, 10_000)));
    expect(answers.map((a) => (a as { result: { n: number } }).result.n)).toEqual(Array.from({ length: 40 }, (_, n) => n));
    expect([...runs.values()].every((count) => count === 1)).toBe(true);
    expect(runs.size).toBe(40);
    // Both took a share (each request goes to one by a hash of its payload, or by $share on Mosquitto).
    const by = new Set(answers.map((a) => (a as { result: { by: string } }).result.by));
    expect([...by].sort()).toEqual(["pool-0", "pool-1"]);
  });
});

describe("OpenMAS format configuration", () => {
  const url = "mqtt://127.0.0.1:1";
  const make = (init: { agentName?: string; serviceUrls?: Record<string, string>; options: Record<string, unknown> }) =>
    new MqttCommunicator({ agentName: init.agentName ?? "agent", serviceUrls: init.serviceUrls ?? {}, options: { url, ...init.options } as never });

  it("refuses what cannot work, naming the value", () => {
    expect(() => make({ agentName: "team/a", options: { wireFormat: "openmas" } })).toThrow(/agent name string "team\/a" must be one topic level/);
    expect(() => make({ options: { wireFormat: "openmas", openmasTopicPrefix: "a/b" } })).toThrow(/openmasTopicPrefix "a\/b" must be one topic level/);
    expect(() => make({ options: { wireFormat: "json" } })).toThrow(ConfigurationError);
    expect(() => make({ options: { wireFormat: "openmas", openmasTopicPrefix: "$share" } })).toThrow(/openmasTopicPrefix "\$share" must not start with "\$"/);
    expect(() => make({ options: { wireFormat: "openmas", topicPrefix: "openmas/agent" } })).toThrow(/topicPrefix "openmas\/agent" is where the OpenMAS format serves agent/);
    expect(() => make({ serviceUrls: { a: "a" }, options: { serviceWireFormats: { b: "openmas" } } })).toThrow(/serviceWireFormats\.b: "b" is not in serviceUrls/);
    expect(() => make({ serviceUrls: { "a/b": "a" }, options: { serviceWireFormats: { "a/b": "openmas" } } })).toThrow(/serviceUrls key string "a\/b" must be one topic level/);
    expect(() => make({ serviceUrls: { a: "a" }, options: { serviceWireFormats: { a: "openmas" }, batching: { a: true } } })).toThrow(/batching\.a: a is called in the OpenMAS format/);
  });

  it("works on the memory bus too, for users' tests", async () => {
    const bus = new MemoryBus();
    const server = new MemoryCommunicator({ agentName: "svc", options: { bus, wireFormat: "openmas" } });
    server.registerHandler("echo", (params) => params);
    const client = new MemoryCommunicator({ agentName: "c", serviceUrls: { svc: "-" }, options: { bus, serviceWireFormats: { svc: "openmas" } } });
    await server.start();
    await client.start();
    try {
      expect(await client.sendRequest("svc", "echo", { m: 1 })).toEqual({ m: 1 });
      await expect(client.sendRequest("svc", "nope")).rejects.toBeInstanceOf(MethodNotFoundError);
      await expect(client.sendRequest("svc", "nope")).rejects.toBeInstanceOf(CommunicationError);
      // wireFormat openmas for every target, but JSON-RPC for the one listed as such.
      const legacy = new MemoryCommunicator({ agentName: "legacy", options: { bus } });
      legacy.registerHandler("ping", (_params, context) => ({ topic: context.topic }));
      await legacy.start();
      const mixed = new MemoryCommunicator({ agentName: "mixed", serviceUrls: { svc: "-", legacy: "legacy" }, options: { bus, wireFormat: "openmas", serviceWireFormats: { legacy: "jsonrpc" } } });
      await mixed.start();
      try {
        expect(await mixed.sendRequest("legacy", "ping")).toEqual({ topic: "legacy/request/ping" });
        expect(await mixed.sendRequest("svc", "echo", { m: 2 })).toEqual({ m: 2 });
      } finally {
        await mixed.stop();
        await legacy.stop();
      }
    } finally {
      await client.stop();
      await server.stop();
    }
  });
});
