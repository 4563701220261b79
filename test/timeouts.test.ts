import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RequestAbortedError, RequestTimeoutError, type MqttCommunicator } from "mqtt-contracts";
import { brokerForTest, brokers, type TestBroker } from "./helpers/brokers.js";
import { startedPair } from "./helpers/communicators.js";
import type { recordingLogger } from "./helpers/recording-logger.js";

describe.each(brokers)("timeouts and aborts on %s", (_name, start) => {
  let broker: TestBroker;
  let client: MqttCommunicator;
  let clientLog: ReturnType<typeof recordingLogger>;
  /** Releases the handlers of `slow` that are waiting. */
  let release: () => void;
  let released: Promise<void>;

  beforeEach(async () => {
    broker = await brokerForTest(start);
    released = new Promise((resolve) => (release = resolve));
    ({ client, clientLog } = await startedPair(broker, {
      handlers: {
        slow: async () => {
          await released;
          return "late";
        },
        fast: () => "fast",
      },
    }));
  });

  afterEach(() => release());

  it("raises RequestTimeoutError, removes the pending entry, and drops the late response with a debug log", async () => {
    const startedAt = Date.now();
    const error = await client.sendRequest("svc", "slow", {}, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect(error).toMatchObject({ target: "svc", timeoutMs: 300, message: expect.stringMatching(/^Request slow to svc timed out after 300 ms: no response came\. Is a service subscribed to svc\/request\/slow\? A broker whose ACL denies/) });
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(290);
    expect((client as unknown as { client: { inFlight: number } }).client.inFlight).toBe(0);

    release(); // the server now answers the request nobody waits for
    await vi.waitFor(() => expect(clientLog.find("debug", /dropped a late or unknown response/)).toBeDefined(), { timeout: 5_000 });
    await expect(client.sendRequest("svc", "fast")).resolves.toBe("fast");
  });

  it("answers a call that outlived a table's worth of newer calls (its slot was taken meanwhile), and every newer one", async () => {
    const slow = client.sendRequest("svc", "slow");
    for (let round = 0; round < 10; round++) {
      const batch = Array.from({ length: 30 }, () => client.sendRequest("svc", "fast"));
      await expect(Promise.all(batch)).resolves.toEqual(Array.from({ length: 30 }, () => "fast"));
    }
    release();
    await expect(slow).resolves.toBe("late");
  });

  it("ends the call with RequestAbortedError carrying the signal's reason", async () => {
    const controller = new AbortController();
    const call = client.sendRequest("svc", "slow", {}, { signal: controller.signal });
    const reason = new Error("user gave up");
    controller.abort(reason);
    const error = await call.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestAbortedError);
    expect((error as RequestAbortedError).cause).toBe(reason);
    expect((client as unknown as { client: { inFlight: number } }).client.inFlight).toBe(0);
  });

  it("publishes nothing when the signal is already aborted", async () => {
    const raw = await broker.rawClient();
    const seen: string[] = [];
    raw.on("message", (topic) => seen.push(topic));
    await raw.subscribeAsync("svc/request/#");
    const error = await client.sendRequest("svc", "fast", {}, { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestAbortedError);
    await expect(client.sendRequest("svc", "fast")).resolves.toBe("fast");
    expect(seen).toEqual(["svc/request/fast"]);
  });

  it("rejects a timeout that is not a positive number before publishing", async () => {
    await expect(client.sendRequest("svc", "fast", {}, { timeoutMs: 0 })).rejects.toThrow(/timeoutMs must be a positive number/);
    await expect(client.sendRequest("svc", "fast", {}, { timeoutMs: Number.NaN })).rejects.toThrow(/timeoutMs/);
  });
});
