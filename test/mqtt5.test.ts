import type { IClientOptions, MqttClient } from "mqtt";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CommunicationError, MqttCommunicator, RequestAbortedError, RequestTimeoutError, type MqttCommunicatorOptions } from "mqtt-contracts";
import { brokerForTest, startAedesInProcess, startMosquittoBroker, type TestBroker } from "./helpers/brokers.js";
import { started } from "./helpers/communicators.js";
import { inbox, type Inbox } from "./helpers/inbox.js";
import { recordingLogger } from "./helpers/recording-logger.js";

/** Started communicators (stopped after the test) and raw peers (their inboxes disposed after it) for one test. */
function fixtures(broker: () => TestBroker) {
  const inboxes: Inbox[] = [];
  return {
    communicator: (agentName: string, extra: MqttCommunicatorOptions = {}, serviceUrls: Record<string, string> = {}): Promise<MqttCommunicator> =>
      started(broker(), { agentName, serviceUrls, options: extra }),
    /** A raw peer subscribed to `filters`, and everything it receives. */
    async peer(filters: string[], options: IClientOptions = {}): Promise<{ client: MqttClient; seen: Inbox }> {
      const client = await broker().rawClient(options);
      const seen = inbox(client);
      inboxes.push(seen);
      if (filters.length > 0) await client.subscribeAsync(filters, { qos: 1 });
      return { client, seen };
    },
    cleanup(): void {
      for (const seen of inboxes.splice(0)) seen.dispose();
    },
  };
}

describe("MQTT 5 on Mosquitto", () => {
  let broker: TestBroker;
  const { communicator, peer, cleanup } = fixtures(() => broker);

  beforeEach(async () => {
    broker = await brokerForTest(startMosquittoBroker);
  });

  afterEach(cleanup);

  it('connects with 5 under "auto" and with 3.1.1 when asked for 4', async () => {
    expect((await communicator("auto")).protocolVersion).toBe(5);
    expect((await communicator("five", { protocolVersion: 5 })).protocolVersion).toBe(5);
    expect((await communicator("four", { protocolVersion: 4 })).protocolVersion).toBe(4);
  });

  it("sends a request with Message Expiry Interval only: the payload names the response topic and the id correlates", async () => {
    const { seen } = await peer(["nobody/request/#"], { protocolVersion: 5 });
    const client = await communicator("asker", {}, { nobody: "nobody" });
    const abort = new AbortController();
    // 4 100 ms: rounding or truncating would give 4 seconds, only rounding up gives 5.
    const call = client.sendRequest("nobody", "ping", { n: 1 }, { timeoutMs: 4_100, signal: abort.signal });
    const short = client.sendRequest("nobody", "ping", { n: 2 }, { timeoutMs: 250 });

    const captured = await Promise.all([1, 2].map((n) => seen.waitFor((m) => (JSON.parse(m.text) as { params: { n: number } }).params.n === n)));
    for (const [i, message] of captured.entries()) {
      const body = JSON.parse(message.text) as { id: string; response_topic: string };
      expect(message.topic).toBe("nobody/request/ping");
      expect(body.response_topic).toBe(client.responseTopic);
      expect(message.packet.properties?.responseTopic).toBeUndefined();
      expect(message.packet.properties?.correlationData).toBeUndefined();
      // Mosquitto forwards the seconds remaining; the request is delivered within the second it arrived in.
      expect(message.packet.properties?.messageExpiryInterval).toBe([5, 1][i]);
    }

    abort.abort();
    await expect(call).rejects.toBeInstanceOf(RequestAbortedError);
    await expect(short).rejects.toBeInstanceOf(RequestTimeoutError);
  });

  it("answers to the Response Topic property over the payload's response_topic, echoing Correlation Data", async () => {
    const server = await communicator("pref");
    server.registerHandler("echo", (params) => params);
    const { client: raw, seen } = await peer(["right/topic", "wrong/topic"], { protocolVersion: 5 });

    await raw.publishAsync("pref/request/echo", JSON.stringify({ jsonrpc: "2.0", id: "p1", method: "echo", params: { a: 1 }, response_topic: "wrong/topic" }), {
      qos: 1,
      properties: { responseTopic: "right/topic", correlationData: Buffer.from("abc") },
    });
    const answer = await seen.waitFor((m) => m.topic === "right/topic");
    expect(JSON.parse(answer.text)).toEqual({ jsonrpc: "2.0", id: "p1", result: { a: 1 } });
    expect(answer.packet.properties?.correlationData?.toString("utf8")).toBe("abc");

    // A fence: with no property, the payload's topic is used; anything misrouted before it would arrive first.
    await raw.publishAsync("pref/request/echo", JSON.stringify({ jsonrpc: "2.0", id: "fence", method: "echo", params: {}, response_topic: "wrong/topic" }), { qos: 1 });
    await seen.waitFor((m) => m.topic === "wrong/topic");
    expect(seen.on("wrong/topic").map((m) => (JSON.parse(m.text) as { id: string }).id)).toEqual(["fence"]);
    expect(seen.on("wrong/topic")[0]!.packet.properties?.correlationData).toBeUndefined();
    expect(seen.on("right/topic")).toHaveLength(1);
  });

  it("aborts the handler's signal when the caller's deadline passes", async () => {
    const server = await communicator("deadline");
    const client = await communicator("impatient", {}, { deadline: "deadline" });
    let aborted: { reason: unknown; at: number } | undefined;
    server.registerHandler("slow", async (_params, context) => {
      await new Promise<void>((resolve) => {
        if (context.signal.aborted) resolve();
        else context.signal.addEventListener("abort", () => resolve(), { once: true });
      });
      aborted = { reason: context.signal.reason, at: Date.now() };
      return "too late";
    });

    const started = Date.now();
    await expect(client.sendRequest("deadline", "slow", {}, { timeoutMs: 1_000 })).rejects.toBeInstanceOf(RequestTimeoutError);
    await vi.waitFor(() => expect(aborted).toBeDefined(), { timeout: 3_000, interval: 10 });
    expect(aborted!.reason).toBeInstanceOf(DOMException);
    expect((aborted!.reason as DOMException).name).toBe("TimeoutError");
    expect((aborted!.reason as DOMException).message).toMatchInlineSnapshot(`"The caller's deadline for slow has passed"`);
    // The deadline is the Message Expiry Interval (1 s) counted from when the server got the request.
    expect(aborted!.at - started).toBeGreaterThanOrEqual(900);
    expect(aborted!.at - started).toBeLessThan(3_000);
  });

  it("with requestExpiry: false, sends requests without properties, and handlers see no deadline", async () => {
    const { seen } = await peer(["nobody/request/#"], { protocolVersion: 5 });
    const client = await communicator("plain", { requestExpiry: false }, { nobody: "nobody", quiet: "quiet" });
    void client.sendRequest("nobody", "ping", {}, { timeoutMs: 200 }).catch(() => undefined);
    const request = await seen.waitFor((m) => m.topic === "nobody/request/ping");
    expect(request.packet.properties?.messageExpiryInterval).toBeUndefined();
    expect(request.packet.properties?.responseTopic).toBeUndefined();
    expect(JSON.parse(request.packet.payload.toString())).not.toHaveProperty("deadline");

    const server = await communicator("quiet", { stopGraceMs: 50 });
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    let abortReason: unknown;
    server.registerHandler("slow", async (_params, context) => {
      started();
      await new Promise<void>((resolve) => context.signal.addEventListener("abort", () => resolve(), { once: true }));
      abortReason = context.signal.reason;
      return null;
    });
    // The server knows no deadline; the handler's signal aborts when the caller gives up and says so (rpc.cancel).
    const controller = new AbortController();
    const call = client.sendRequest("quiet", "slow", {}, { timeoutMs: 60_000, signal: controller.signal });
    await running;
    expect(abortReason).toBeUndefined();
    controller.abort();
    await expect(call).rejects.toBeInstanceOf(RequestAbortedError);
    await vi.waitFor(() => expect(abortReason).toBeInstanceOf(CommunicationError), { timeout: 10_000, interval: 10 });
    expect(String(abortReason)).toMatch(/The caller cancelled slow: the caller aborted it/);
    await server.stop();
  });

  it("refuses a requestExpiry that is not a boolean, naming it", () => {
    expect(() => new MqttCommunicator({ agentName: "typo", options: broker.options({ requestExpiry: "no" as never }) })).toThrowErrorMatchingInlineSnapshot(`[ConfigurationError: Invalid mqtt communicator options for typo: communicatorOptions.requestExpiry: Invalid input: expected boolean, received string]`);
  });

  it("serves a 3.1.1 peer through the payload's response_topic alone", async () => {
    const server = await communicator("modern");
    server.registerHandler("echo", (params) => params);
    expect(server.protocolVersion).toBe(5);
    const { client: raw, seen } = await peer(["legacy/reply"], { protocolVersion: 4 });

    await raw.publishAsync("modern/request/echo", JSON.stringify({ jsonrpc: "2.0", id: 41, method: "echo", params: { v: 4 }, response_topic: "legacy/reply" }), { qos: 1 });
    expect(await seen.jsonOn("legacy/reply")).toEqual({ jsonrpc: "2.0", id: 41, result: { v: 4 } });
  });
});

describe("MQTT 5 on aedes, which speaks only 3.1.1", () => {
  let broker: TestBroker;
  const { communicator, cleanup } = fixtures(() => broker);

  beforeEach(async () => {
    broker = await brokerForTest(startAedesInProcess);
  });

  afterEach(cleanup);

  it('falls back to 3.1.1 under "auto"', async () => {
    const auto = await communicator("auto");
    expect(auto.protocolVersion).toBe(4);
    const client = await communicator("caller", {}, { auto: "auto" });
    auto.registerHandler("ping", () => "pong");
    await expect(client.sendRequest("auto", "ping")).resolves.toBe("pong");
  });

  it("refuses to start when 5 is required", async () => {
    const strict = new MqttCommunicator({ agentName: "strict", options: broker.options({ protocolVersion: 5, connectTimeoutMs: 5_000 }), logger: recordingLogger() });
    const error = await strict.start().then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(CommunicationError);
    expect((error as Error).message).toMatchInlineSnapshot(`"the in-process broker refused the connection: unacceptable protocol version (code 1)"`);
    expect(strict.started).toBe(false);
  });
});
