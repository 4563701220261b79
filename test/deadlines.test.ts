/**
 * The deadline a request carries in its payload (`deadline`, the caller's clock in ms since the epoch),
 * which works over MQTT 3.1.1 too: a server never starts a handler whose caller has given up, whether the
 * request waited at the broker, or in the server behind `maxConcurrentHandlers`.
 */
import type { MqttClient } from "mqtt";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ErrorCode, RequestTimeoutError, type MqttCommunicator, type MqttCommunicatorOptions } from "mqtt-contracts";
import { brokerForTest, brokers, type TestBroker } from "./helpers/brokers.js";
import { started } from "./helpers/communicators.js";
import { inbox, type Inbox } from "./helpers/inbox.js";
import { recordingLogger } from "./helpers/recording-logger.js";

describe.each(brokers)("request deadlines on %s", (name, start) => {
  let broker: TestBroker;
  let log: ReturnType<typeof recordingLogger>;
  let server: MqttCommunicator | undefined;
  let peer: MqttClient;
  let seen: Inbox;
  let serial = 0;
  const ran: string[] = [];

  async function serve(options: MqttCommunicatorOptions = {}): Promise<void> {
    server = await started(
      broker,
      { agentName: "svc", options, logger: log },
      {
        echo: (params) => {
          ran.push(String(params.name));
          return params;
        },
      },
    );
  }

  beforeEach(async () => {
    ran.length = 0;
    broker = await brokerForTest(start);
    log = recordingLogger();
    // A foreign MQTT 3.1.1 peer: no Message Expiry, so only the payload says when the caller gives up.
    peer = await broker.rawClient({ protocolVersion: 4 });
    seen = inbox(peer);
    await peer.subscribeAsync("reply/#", { qos: 1 });
  });

  afterEach(() => {
    seen.dispose();
    server = undefined;
  });

  async function call(fields: Record<string, unknown>): Promise<any> {
    const replyTo = `reply/${++serial}`;
    await peer.publishAsync("svc/request/echo", JSON.stringify({ jsonrpc: "2.0", id: serial, method: "echo", response_topic: replyTo, ...fields }), { qos: 1 });
    return seen.jsonOn(replyTo);
  }

  it("does not run a request whose payload deadline has passed, answers why, and serves the next one", async () => {
    await serve();
    const answer = await call({ params: { name: "stale" }, deadline: Date.now() - 60_000 });
    expect(answer.error.code).toBe(ErrorCode.InternalError);
    expect(answer.error.message).toMatch(/deadline of echo passed before it arrived \(\d+ ms ago by the server's clock\).*clockSkewToleranceMs \(1000 ms\)/);
    expect(log.find("warn", /did not run echo number \d+: its deadline passed before it arrived/)).toBeDefined();
    expect(await call({ params: { name: "fresh" }, deadline: Date.now() + 60_000 })).toMatchObject({ result: { name: "fresh" } });
    expect(ran).toEqual(["fresh"]);
  });

  it("allows clockSkewToleranceMs for a caller whose clock runs behind, and Infinity ignores payload deadlines", async () => {
    await serve();
    // 200 ms past by our clock: within the default 1 s allowance.
    expect(await call({ params: { name: "skewed" }, deadline: Date.now() - 200 })).toMatchObject({ result: { name: "skewed" } });
    await server!.stop();
    await serve({ clockSkewToleranceMs: Number.POSITIVE_INFINITY });
    expect(await call({ params: { name: "ignored" }, deadline: Date.now() - 3_600_000 })).toMatchObject({ result: { name: "ignored" } });
    await server!.stop();
    await serve({ clockSkewToleranceMs: 0 });
    expect((await call({ params: { name: "strict" }, deadline: Date.now() - 200 })).error.message).toMatch(/deadline of echo passed/);
    expect(ran).toEqual(["skewed", "ignored"]);
  });

  it("refuses a deadline that is not a number, naming the value", async () => {
    await serve();
    const answer = await call({ params: { name: "bad" }, deadline: "soon" });
    expect(answer.error).toEqual({ code: ErrorCode.InvalidRequest, message: 'Invalid Request: "deadline" must be a number of milliseconds since the Unix epoch, got string "soon"' });
    expect(ran).toEqual([]);
  });

  it("does not run requests that waited behind the only handler past their callers' deadlines, over MQTT 3.1.1", async () => {
    let finishFirst: () => void = () => undefined;
    await started(
      broker,
      { agentName: "narrow", options: { maxConcurrentHandlers: 1, protocolVersion: 4 }, logger: log },
      {
        work: async ({ name }: { name: string }) => {
          ran.push(name);
          if (name === "first") await new Promise<void>((resolve) => (finishFirst = resolve));
          return { name };
        },
      },
    );
    const caller = await started(broker, { agentName: "narrow_caller", serviceUrls: { narrow: "narrow" }, options: { protocolVersion: 4 } });
    const first = caller.sendRequest("narrow", "work", { name: "first" }, { timeoutMs: 60_000 });
    await vi.waitFor(() => expect(ran).toEqual(["first"]), { timeout: 10_000, interval: 10 });
    // Five calls with 300 ms deadlines, all published and acknowledged while "first" holds the handler.
    const late = Array.from({ length: 5 }, (_, i) => caller.sendRequest("narrow", "work", { name: `late-${i}` }, { timeoutMs: 300 }));
    for (const call of late) await expect(call).rejects.toBeInstanceOf(RequestTimeoutError);
    // Their deadlines plus the server's 1 s clock-skew allowance must pass before the handler frees up.
    // This waits for time itself to pass, which is the point of the test, not for an event.
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    finishFirst();
    await expect(first).resolves.toEqual({ name: "first" });
    await expect(caller.sendRequest("narrow", "work", { name: "after" }, { timeoutMs: 10_000 })).resolves.toEqual({ name: "after" });
    expect(ran).toEqual(["first", "after"]);
    expect(log.find("warn", /did not run work .*: its deadline passed while it waited for a free handler/)).toBeDefined();
  });

  it(`sends the caller's deadline in the payload (${name})`, async () => {
    await peer.subscribeAsync("svc/request/#", { qos: 1 });
    const caller = await started(broker, { agentName: "caller", serviceUrls: { svc: "svc" } });
    const before = Date.now();
    void caller.sendRequest("svc", "echo", {}, { timeoutMs: 5_000 }).catch(() => undefined);
    const request = JSON.parse((await seen.waitFor((m) => m.topic === "svc/request/echo")).text);
    expect(request.deadline).toBeGreaterThanOrEqual(before + 5_000);
    expect(request.deadline).toBeLessThanOrEqual(Date.now() + 5_000);
  });
});
