import { beforeEach, describe, expect, it, vi } from "vitest";
import { CommunicationError, RequestAbortedError, RequestTimeoutError, startBroker, type MqttCommunicator } from "mqtt-contracts";
import { brokerForTest } from "./helpers/brokers.js";
import { communicator, started } from "./helpers/communicators.js";
import { freePort, startMosquitto } from "./helpers/mosquitto.js";
import { recordingLogger } from "./helpers/recording-logger.js";

/** A broker on a fixed TCP port that can go away and come back on the same port, with no memory of its sessions. */
interface RestartableBroker {
  readonly url: string;
  stop(): Promise<void>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

async function restartableAedes(): Promise<RestartableBroker> {
  const port = await freePort();
  let broker = await startBroker({ port });
  return {
    url: broker.url,
    stop: () => broker.close(),
    restart: async () => {
      broker = await startBroker({ port });
    },
    close: () => broker.close(),
  };
}

async function restartableMosquitto(): Promise<RestartableBroker> {
  const mosquitto = await startMosquitto({ port: await freePort() });
  return { url: mosquitto.url, stop: () => mosquitto.stop(), restart: () => mosquitto.start(), close: () => mosquitto.close() };
}

const OUTAGE_TIMEOUT_MS = 1_500;
/** How late past its own timeout a call may settle: timer slack on a busy 2-core machine. */
const SETTLE_MARGIN_MS = 500;

describe.each([
  ["aedes", restartableAedes],
  ["mosquitto", restartableMosquitto],
] as const)("broker restart on %s", (_name, start) => {
  let broker: RestartableBroker;
  let serverLog: ReturnType<typeof recordingLogger>;
  let clientLog: ReturnType<typeof recordingLogger>;
  let server: MqttCommunicator;
  let client: MqttCommunicator;
  let notes: unknown[];

  beforeEach(async () => {
    broker = await brokerForTest(start);
    serverLog = recordingLogger();
    clientLog = recordingLogger();
    notes = [];
    server = communicator(broker.url, { agentName: "svc", serviceUrls: { caller: "caller" }, options: { reconnectPeriodMs: 200 }, logger: serverLog });
    server.registerHandler("echo", (params) => params);
    server.registerHandler("note", (params) => void notes.push(params));
    client = communicator(broker.url, { agentName: "caller", serviceUrls: { svc: "svc" }, options: { reconnectPeriodMs: 200 }, logger: clientLog });
    client.registerHandler("whoami", () => "caller");
    await server.start();
    await client.start();
  });

  it("settles calls during an outage, then reconnects and resubscribes by itself", async () => {
    await expect(client.sendRequest("svc", "echo", { phase: "before" })).resolves.toEqual({ phase: "before" });

    await broker.stop();
    await vi.waitFor(
      () => {
        expect(serverLog.find("warn", /Lost the connection/)).toBeDefined();
        expect(clientLog.find("warn", /Lost the connection/)).toBeDefined();
      },
      { timeout: 5_000, interval: 20 },
    );

    // Calls in both directions during the outage: each must settle by its own deadline, none may hang.
    const during = [
      ...Array.from({ length: 4 }, (_, i) => () => client.sendRequest("svc", "echo", { phase: "during", i }, { timeoutMs: OUTAGE_TIMEOUT_MS })),
      () => server.sendRequest("caller", "whoami", {}, { timeoutMs: OUTAGE_TIMEOUT_MS }),
    ];
    const elapsed: number[] = [];
    const outcomes = await Promise.allSettled(
      during.map((call, i) => {
        const started = Date.now();
        return call().finally(() => (elapsed[i] = Date.now() - started));
      }),
    );
    expect(outcomes.map((outcome) => outcome.status)).toEqual(during.map(() => "rejected"));
    for (const outcome of outcomes) {
      const reason = (outcome as PromiseRejectedResult).reason;
      expect(reason).toBeInstanceOf(CommunicationError);
      expect(reason).toBeInstanceOf(RequestTimeoutError);
    }
    for (const ms of elapsed) expect(ms).toBeLessThanOrEqual(OUTAGE_TIMEOUT_MS + SETTLE_MARGIN_MS);

    await broker.restart();
    await vi.waitFor(
      () => {
        expect(serverLog.find("info", /Reconnected to/)).toBeDefined();
        expect(clientLog.find("info", /Reconnected to/)).toBeDefined();
      },
      { timeout: 10_000, interval: 20 },
    );
    // Reconnected is not yet resubscribed: poll with short calls, bounded by a deadline.
    const deadline = Date.now() + 10_000;
    for (let attempt = 1; ; attempt++) {
      try {
        await client.sendRequest("svc", "echo", { probe: attempt }, { timeoutMs: 500 });
        break;
      } catch (error) {
        if (!(error instanceof RequestTimeoutError) || Date.now() > deadline) throw error;
      }
    }

    // The server's request subscription and the client's response topic are back...
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => client.sendRequest("svc", "echo", { phase: "after", i }, { timeoutMs: 5_000 })));
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => ({ phase: "after", i })));
    // ...and so are the client's own request subscription and the server's response topic...
    await expect(server.sendRequest("caller", "whoami", {}, { timeoutMs: 5_000 })).resolves.toBe("caller");
    // ...and the server's notification subscription.
    await client.sendNotification("svc", "note", { phase: "after" });
    await vi.waitFor(() => expect(notes).toContainEqual({ phase: "after" }), { timeout: 5_000, interval: 10 });
    expect(server.started && client.started).toBe(true);
  });

  it("never sends a request whose caller gave up during the outage: no handler runs after a timeout or abort", async () => {
    const executed: number[] = [];
    server.registerHandler("work", ({ n }: { n: number }) => {
      executed.push(n);
      return { n };
    });
    // This caller comes back well after the server, so the server is subscribed again by the time the
    // caller's queue would be replayed: anything replayed would be delivered and run.
    const late = await started(broker.url, { agentName: "late", serviceUrls: { svc: "svc" }, options: { reconnectPeriodMs: 1_000 } });
    await broker.stop();
    await vi.waitFor(() => expect(late.started && clientLog.find("warn", /Lost the connection/)).toBeTruthy(), { timeout: 5_000, interval: 20 });

    const calls = Array.from({ length: 40 }, (_, n) => {
      // Every fourth caller aborts early; the rest time out.
      const controller = new AbortController();
      if (n % 4 === 0) setTimeout(() => controller.abort(new Error("caller went away")), 200);
      return late.sendRequest("svc", "work", { n }, { timeoutMs: 1_000, signal: controller.signal });
    });
    const outcomes = await Promise.allSettled(calls);
    expect(outcomes.map((outcome, n) => [n, outcome.status, (outcome as PromiseRejectedResult).reason?.constructor])).toEqual(
      outcomes.map((_, n) => [n, "rejected", n % 4 === 0 ? RequestAbortedError : RequestTimeoutError]),
    );

    await broker.restart();
    // The server is back and serving; then the late caller reconnects (its queue would be replayed now).
    await vi.waitFor(() => expect(serverLog.find("info", /Reconnected to/)).toBeDefined(), { timeout: 10_000, interval: 20 });
    const deadline = Date.now() + 15_000;
    for (let attempt = 1; ; attempt++) {
      try {
        await late.sendRequest("svc", "work", { n: 1_000 + attempt }, { timeoutMs: 500 });
        break;
      } catch (error) {
        if (!(error instanceof RequestTimeoutError) || Date.now() > deadline) throw error;
      }
    }
    // The probe was published after the replay and answered after it: every replayed request would have run by now.
    expect(executed.filter((n) => n < 1_000)).toEqual([]);
  });
});
