import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { isDiscoveryTopic } from "./helpers/inbox.js";
import {
  CommunicationError,
  MemoryBus,
  MemoryCommunicator,
  MethodNotFoundError,
  RequestAbortedError,
  RequestTimeoutError,
  RpcError,
  type InboundMessage,
} from "mqtt-contracts";
import { recordingLogger } from "./helpers/recording-logger.js";
import { failure } from "./helpers/failures.js";

/** The number of requests still waiting for an answer, read from the communicator's private state. */
const pendingCount = (communicator: MemoryCommunicator) => (communicator as unknown as { client: { inFlight: number } }).client.inFlight;

/** Requests, responses and notifications: not discovery. */
const isTraffic = (topic: string) => !isDiscoveryTopic(topic);

describe("the memory communicator", () => {
  let bus: MemoryBus;
  /** Every message on the bus, as a broker's `#` subscriber would see it, but for discovery records (`<prefix>/instance/<id>`). */
  let wire: InboundMessage[];
  let server: MemoryCommunicator;
  let client: MemoryCommunicator;
  let serverLog: ReturnType<typeof recordingLogger>;

  beforeEach(async () => {
    bus = new MemoryBus();
    // Its own array: a late delivery on the previous test's bus must not land in this test's.
    const seen: InboundMessage[] = [];
    wire = seen;
    bus.subscribe(["#"], (message) => isTraffic(message.topic) && seen.push(message));
    serverLog = recordingLogger();
    server = new MemoryCommunicator({ agentName: "svc", options: { bus, stopGraceMs: 50 }, logger: serverLog });
    client = new MemoryCommunicator({ agentName: "caller", serviceUrls: { svc: "svc" }, options: { bus }, logger: recordingLogger() });
    server.registerHandler<{ a: number; b: number }>("add", ({ a, b }) => ({ sum: a + b }));
    await server.start();
    await client.start();
  });

  afterEach(async () => {
    await client.stop();
    await server.stop();
  });

  it("returns the handler's result", async () => {
    await expect(client.sendRequest("svc", "add", { a: 2, b: 3 })).resolves.toEqual({ sum: 5 });
  });

  it("speaks the same wire format as mqtt: JSON-RPC 2.0 on <prefix>/request/<method>, answered on the response topic", async () => {
    await client.sendRequest("svc", "add", { a: 1, b: 1 });
    expect(wire.map((message) => message.topic)).toEqual(["svc/request/add", client.responseTopic]);
    const [request, response] = wire.map((message) => JSON.parse(Buffer.from(message.payload).toString("utf8")) as Record<string, unknown>);
    expect(request).toEqual({ jsonrpc: "2.0", id: expect.any(String), method: "add", params: { a: 1, b: 1 }, response_topic: client.responseTopic, deadline: expect.any(Number) });
    expect(response).toEqual({ jsonrpc: "2.0", id: request!.id, result: { sum: 2 } });
    // As over MQTT 5, the request carries its deadline as a Message Expiry Interval, and nothing else.
    expect(wire[0]).toMatchObject({ messageExpiryInterval: 30 });
    expect(wire[0]!.responseTopic).toBeUndefined();
    expect(wire[0]!.correlationData).toBeUndefined();
  });

  it("delivers notifications to the handler without answering", async () => {
    const received = new Promise<unknown>((resolve) => server.registerHandler("log", (params) => resolve(params)));
    await client.sendNotification("svc", "log", { message: "hello" });
    await expect(received).resolves.toEqual({ message: "hello" });
    expect(wire.map((message) => message.topic)).toEqual(["svc/notification/log"]);
  });

  it("correlates 1 000 concurrent requests", async () => {
    const calls = Array.from({ length: 1000 }, (_, i) => client.sendRequest<{ sum: number }>("svc", "add", { a: i, b: 1_000_000 }));
    const results = await Promise.all(calls);
    expect(results.map((result) => result.sum)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1_000_000));
    expect(pendingCount(client)).toBe(0);
  });

  describe("with a handler that waits", () => {
    let release: () => void;
    let entered: Promise<void>;

    beforeEach(() => {
      let enter!: () => void;
      entered = new Promise((resolve) => (enter = resolve));
      const released = new Promise<void>((resolve) => (release = resolve));
      server.registerHandler("slow", async () => {
        enter();
        await released;
        return "late";
      });
    });

    afterEach(() => {
      release();
    });

    it("raises RequestTimeoutError and removes the pending entry", async () => {
      const startedAt = Date.now();
      const error = await failure(client.sendRequest("svc", "slow", {}, { timeoutMs: 200 }));
      expect(error).toBeInstanceOf(RequestTimeoutError);
      expect(error).toMatchObject({ target: "svc", timeoutMs: 200 });
      expect(error.message).toMatch(/^Request slow to svc timed out after 200 ms: no response came\. Is a service subscribed to svc\/request\/slow\?/);
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(190);
      expect(pendingCount(client)).toBe(0);
      // The late answer finds nobody waiting, and the communicator keeps working.
      release();
      await expect(client.sendRequest("svc", "add", { a: 1, b: 2 })).resolves.toEqual({ sum: 3 });
    });

    it("ends the call with RequestAbortedError whose cause is the signal's reason", async () => {
      const controller = new AbortController();
      const call = client.sendRequest("svc", "slow", {}, { signal: controller.signal });
      await entered;
      const reason = new Error("user gave up");
      controller.abort(reason);
      const error = await failure(call);
      expect(error).toBeInstanceOf(RequestAbortedError);
      expect(error.cause).toBe(reason);
      expect(error.message).toMatchInlineSnapshot(`"Request slow to svc was aborted"`);
      expect(pendingCount(client)).toBe(0);
    });

    it("publishes nothing for a signal that is already aborted", async () => {
      const error = await failure(client.sendRequest("svc", "slow", {}, { signal: AbortSignal.abort("too late") }));
      expect(error).toBeInstanceOf(RequestAbortedError);
      expect(error.cause).toBe("too late");
      await client.sendRequest("svc", "add", { a: 0, b: 0 });
      expect(wire.map((message) => message.topic)).toEqual(["svc/request/add", client.responseTopic]);
    });

    it("stop() rejects every pending request with CommunicationError", async () => {
      const calls = [1, 2, 3].map(() => failure(client.sendRequest("svc", "slow")));
      await entered;
      await client.stop();
      const errors = await Promise.all(calls);
      for (const error of errors) {
        expect(error).toBeInstanceOf(CommunicationError);
        expect(error).not.toBeInstanceOf(RequestTimeoutError);
        expect(error.message).toBe("Request slow to svc was cancelled: caller stopped");
      }
      expect(pendingCount(client)).toBe(0);
    });
  });

  it("answers a handler's plain error with -32000, its message and no stack", async () => {
    server.registerHandler("explode", () => {
      throw new Error("boiler pressure too high");
    });
    const error = await failure(client.sendRequest("svc", "explode"));
    expect(error).toBeInstanceOf(RpcError);
    expect(error).not.toBeInstanceOf(MethodNotFoundError);
    expect(error).toMatchObject({ code: -32000, message: "boiler pressure too high", data: undefined, target: "svc" });
    const response = wire.find((message) => message.topic === client.responseTopic)!;
    const body = JSON.parse(Buffer.from(response.payload).toString("utf8")) as { error: unknown };
    expect(body.error).toEqual({ code: -32000, message: "boiler pressure too high" });
    expect(Buffer.from(response.payload).toString("utf8")).not.toMatch(/\bat |stack/);
    expect(serverLog.find("warn", /handler for explode threw: boiler pressure too high/)).toBeDefined();
  });

  it("keeps the code and data of an RpcError the handler throws", async () => {
    server.registerHandler("heat", () => {
      throw new RpcError(4001, "Too hot", { data: { max: 80, unit: "C" } });
    });
    const error = await failure(client.sendRequest("svc", "heat"));
    expect(error).toBeInstanceOf(RpcError);
    expect(error).toMatchObject({ code: 4001, message: "Too hot", data: { max: 80, unit: "C" } });
  });

  it("raises MethodNotFoundError for a method nobody serves", async () => {
    const error = await failure(client.sendRequest("svc", "fly"));
    expect(error).toBeInstanceOf(MethodNotFoundError);
    expect(error).toMatchObject({ code: -32601, codeName: "MethodNotFound", target: "svc" });
    expect(error.message).toMatchInlineSnapshot(`"Method not found: fly"`);
  });

  it("aborts the handler's context.signal at the caller's deadline", async () => {
    // The deadline travels as the MQTT 5 Message Expiry Interval, in whole seconds.
    let entered!: (at: number) => void;
    const handlerEntered = new Promise<number>((resolve) => (entered = resolve));
    const aborted = new Promise<{ at: number; reason: unknown }>((resolve) => {
      server.registerHandler("wait", (_params, context) => {
        entered(Date.now());
        return new Promise((_, reject) =>
          context.signal.addEventListener("abort", () => {
            resolve({ at: Date.now(), reason: context.signal.reason });
            reject(context.signal.reason);
          }),
        );
      });
    });
    const call = failure(client.sendRequest("svc", "wait", {}, { timeoutMs: 1_000 }));
    const enteredAt = await handlerEntered;
    const { at, reason } = await aborted;
    expect(await call).toBeInstanceOf(RequestTimeoutError);
    expect(at - enteredAt).toBeGreaterThanOrEqual(900);
    expect(reason).toBeInstanceOf(DOMException);
    expect((reason as DOMException).name).toBe("TimeoutError");
    expect((reason as DOMException).message).toMatchInlineSnapshot(`"The caller's deadline for wait has passed"`);
  });

  it("lets two buses carry the same names without hearing each other", async () => {
    const otherBus = new MemoryBus();
    const otherWire: InboundMessage[] = [];
    otherBus.subscribe(["#"], (message) => isTraffic(message.topic) && otherWire.push(message));
    const otherServer = new MemoryCommunicator({ agentName: "svc", options: { bus: otherBus }, logger: recordingLogger() });
    const otherClient = new MemoryCommunicator({ agentName: "caller", serviceUrls: { svc: "svc" }, options: { bus: otherBus }, logger: recordingLogger() });
    otherServer.registerHandler("add", () => "the other bus");
    await otherServer.start();
    await otherClient.start();
    try {
      await expect(otherClient.sendRequest("svc", "add", { a: 1, b: 1 })).resolves.toBe("the other bus");
      await expect(client.sendRequest("svc", "add", { a: 1, b: 1 })).resolves.toEqual({ sum: 2 });
      expect(otherWire.map((message) => message.topic)).toEqual(["svc/request/add", otherClient.responseTopic]);
      expect(wire.map((message) => message.topic)).toEqual(["svc/request/add", client.responseTopic]);

      // A caller on a bus where nobody serves "svc" times out.
      const lonelyBus = new MemoryBus();
      const lonely = new MemoryCommunicator({ agentName: "lonely", serviceUrls: { svc: "svc" }, options: { bus: lonelyBus }, logger: recordingLogger() });
      await lonely.start();
      try {
        await expect(lonely.sendRequest("svc", "add", { a: 1, b: 1 }, { timeoutMs: 100 })).rejects.toBeInstanceOf(RequestTimeoutError);
      } finally {
        await lonely.stop();
      }
      expect(wire).toHaveLength(2);
      expect(otherWire).toHaveLength(2);
    } finally {
      await otherClient.stop();
      await otherServer.stop();
    }
  });
});

describe("groups and discovery on the memory bus", () => {
  it("spreads calls over the instances of a group at once (no $share probe) and forgets a stopped one", async () => {
    const bus = new MemoryBus();
    const servers = ["w-1", "w-2"].map((clientId) => {
      const server = new MemoryCommunicator({ agentName: "work", options: { bus, clientId, sharedGroup: "g" }, logger: recordingLogger() });
      server.registerHandler("who", () => clientId);
      return server;
    });
    const client = new MemoryCommunicator({ agentName: "caller", serviceUrls: { work: "work" }, options: { bus }, logger: recordingLogger() });
    const began = performance.now();
    for (const server of servers) await server.start();
    // With a $share probe each start would wait its 2 s shareProbeMs: two would take 4 s.
    expect(performance.now() - began).toBeLessThan(4_000);
    await client.start();
    expect(servers.map((server) => server.routing)).toEqual(["instances", "instances"]);
    await vi.waitFor(() => expect(client.liveInstances("work").map((record) => record.instance)).toEqual(["w-1", "w-2"]), { timeout: 5_000, interval: 5 });
    const answers = await Promise.all([1, 2, 3, 4].map(() => client.sendRequest<string>("work", "who")));
    expect(answers.sort()).toEqual(["w-1", "w-1", "w-2", "w-2"]);
    await servers[0]!.stop();
    await vi.waitFor(() => expect(client.liveInstances("work").map((record) => record.instance)).toEqual(["w-2"]), { timeout: 5_000, interval: 5 });
    expect(await Promise.all([1, 2, 3].map(() => client.sendRequest<string>("work", "who")))).toEqual(["w-2", "w-2", "w-2"]);
    await client.stop();
    await servers[1]!.stop();
  });
});

describe("MemoryBus.default", () => {
  it("is the bus of communicators given none", async () => {
    const seen: string[] = [];
    const unsubscribe = MemoryBus.default.subscribe(["default-bus-svc/#"], (message) => isTraffic(message.topic) && seen.push(message.topic));
    const server = new MemoryCommunicator({ agentName: "default-bus-svc", logger: recordingLogger() });
    const client = new MemoryCommunicator({ agentName: "default-bus-caller", serviceUrls: { svc: "default-bus-svc" }, logger: recordingLogger() });
    server.registerHandler("ping", () => "pong");
    await server.start();
    await client.start();
    try {
      await expect(client.sendRequest("svc", "ping")).resolves.toBe("pong");
      expect(seen).toEqual(["default-bus-svc/request/ping"]);
    } finally {
      unsubscribe();
      await client.stop();
      await server.stop();
    }
  });
});
