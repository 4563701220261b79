/**
 * Faults between a process and its broker, made by a TCP proxy (test/helpers/fault-proxy.ts) in front of a
 * Mosquitto started here: a half-open connection, a broker that never answers CONNECT, a reset in the
 * middle of a packet, and added latency.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from "vitest";
import { CommunicationError, MqttCommunicator, RequestTimeoutError, type MqttCommunicatorOptions } from "mqtt-contracts";
import { started } from "./helpers/communicators.js";
import { FaultProxy } from "./helpers/fault-proxy.js";
import { startMosquitto, type Mosquitto } from "./helpers/mosquitto.js";
import { recordingLogger } from "./helpers/recording-logger.js";

let mosquitto: Mosquitto;

beforeAll(async () => {
  mosquitto = await startMosquitto();
});
afterAll(() => mosquitto?.close());

/** `proxy`, closed when the test ends: after the communicators made through it since have stopped. */
function closedAfterTest(proxy: FaultProxy): FaultProxy {
  onTestFinished(() => proxy.close());
  return proxy;
}

async function proxy(): Promise<FaultProxy> {
  return closedAfterTest(await FaultProxy.start(mosquitto.port));
}

/** A service `svc` on the broker directly, counting how often each request ran. */
async function service(options: MqttCommunicatorOptions = {}, viaUrl = mosquitto.url) {
  const runs = new Map<string, number>();
  let release: () => void = () => undefined;
  let gate: Promise<void> = Promise.resolve();
  const server = await started(
    viaUrl,
    { agentName: "svc", options },
    {
      work: async ({ tag, ms = 0 }: { tag: string; ms?: number }) => {
        runs.set(tag, (runs.get(tag) ?? 0) + 1);
        await gate;
        if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
        return { tag };
      },
    },
  );
  return {
    server,
    runs,
    /** Handlers wait until `release()`. */
    hold() {
      gate = new Promise((resolve) => (release = resolve));
    },
    release: () => release(),
  };
}

describe("faults between a process and the broker", () => {
  it("a half-open connection is noticed within 1.5 × keepalive; a call in flight is sent again and answered once the path is back", { timeout: 60_000 }, async () => {
    const svc = await service();
    const path = await proxy();
    const log = recordingLogger();
    const keepalive = 2;
    const caller = await started(path.url, { agentName: "caller", serviceUrls: { svc: "svc" }, options: { keepalive, reconnectPeriodMs: 200 }, logger: log });
    svc.hold();
    const call = caller.sendRequest("svc", "work", { tag: "half-open" }, { timeoutMs: 20_000 });
    await vi.waitFor(() => expect(svc.runs.get("half-open")).toBe(1), { timeout: 10_000, interval: 10 });

    // The path dies without a FIN or RST; the answer is sent into it and lost.
    path.blackhole("both");
    const died = performance.now();
    svc.release();
    await vi.waitFor(() => expect(log.find("warn", /^Lost the connection/)).toBeDefined(), { timeout: 4 * keepalive * 1000, interval: 20 });
    const noticedMs = performance.now() - died;
    path.restore();
    const result = await call;
    const answeredMs = performance.now() - died;
    console.log(`half-open: noticed after ${noticedMs.toFixed(0)} ms (keepalive ${keepalive} s), answered ${answeredMs.toFixed(0)} ms after the path died`);
    expect(result).toEqual({ tag: "half-open" });
    // mqtt.js pings after one keepalive and gives up half a keepalive later; the slack is for a loaded machine.
    expect(noticedMs).toBeLessThan(1.5 * keepalive * 1000 + 1_500);
    // Answered when the path came back, not at the call's 20 s timeout; and run once (the resend was answered from the dedup cache).
    expect(answeredMs).toBeLessThan(15_000);
    expect(svc.runs.get("half-open")).toBe(1);
    expect(log.find("info", /sent 1 call\(s\) in flight again after the reconnect/)).toBeDefined();
  });

  it("a call whose path stays dead fails at its timeout with an error that says the connection is down", { timeout: 30_000 }, async () => {
    await service();
    const path = await proxy();
    const caller = await started(path.url, { agentName: "caller", serviceUrls: { svc: "svc" }, options: { keepalive: 1, reconnectPeriodMs: 200 } });
    path.blackhole("both");
    const call = caller.sendRequest("svc", "work", { tag: "dead" }, { timeoutMs: 4_000 });
    const error = await call.then(() => undefined, (reason: unknown) => reason);
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect((error as Error).message).toMatch(/the connection to the broker is down \(reconnecting\)/);
  });

  it("a CONNECT that is never answered fails at the connect timeout, naming the broker URL", { timeout: 30_000 }, async () => {
    const silent = closedAfterTest(await FaultProxy.silent());
    const began = performance.now();
    const never = new MqttCommunicator({ agentName: "hopeful", options: { url: silent.url, connectTimeoutMs: 4_000 }, logger: recordingLogger() });
    const error = await never.start().then(() => undefined, (reason: unknown) => reason);
    const tookMs = performance.now() - began;
    expect(error).toBeInstanceOf(CommunicationError);
    expect((error as Error).message).toContain(`Could not connect to ${silent.url}`);
    expect((error as Error).message).toContain("within 4000 ms");
    expect(tookMs).toBeGreaterThanOrEqual(3_900);
    expect(tookMs).toBeLessThan(4_000 + 5_000);
    expect(silent.connections).toBeGreaterThanOrEqual(1);
  });

  it("a reset in the middle of a request to the server: no handler runs twice, no call hangs", { timeout: 60_000 }, async () => {
    const path = await proxy();
    const svc = await service({ reconnectPeriodMs: 200, clientId: "svc-reset" }, path.url);
    const caller = await started(mosquitto.url, { agentName: "caller", serviceUrls: { svc: "svc" } });
    // Broker to server: the next chunk, a request, is cut in half and both sides reset.
    const reset = path.resetMidPacket("down");
    const cut = caller.sendRequest("svc", "work", { tag: "cut" }, { timeoutMs: 20_000 });
    await reset;
    const after = await Promise.all(["a", "b", "c"].map((tag) => caller.sendRequest("svc", "work", { tag }, { timeoutMs: 20_000 })));
    expect(await cut).toEqual({ tag: "cut" });
    expect(after).toEqual([{ tag: "a" }, { tag: "b" }, { tag: "c" }]);
    expect([...svc.runs.entries()].sort()).toEqual([["a", 1], ["b", 1], ["c", 1], ["cut", 1]]);
    expect(svc.server.started).toBe(true);
  });

  it("a reset in the middle of an answer to the caller: the call is answered once, and the handler ran once", { timeout: 60_000 }, async () => {
    const svc = await service();
    const path = await proxy();
    const caller = await started(path.url, { agentName: "caller", serviceUrls: { svc: "svc" }, options: { reconnectPeriodMs: 200 } });
    svc.hold();
    const call = caller.sendRequest("svc", "work", { tag: "answer-cut" }, { timeoutMs: 20_000 });
    await vi.waitFor(() => expect(svc.runs.get("answer-cut")).toBe(1), { timeout: 10_000, interval: 10 });
    const reset = path.resetMidPacket("down");
    svc.release();
    await reset;
    expect(await call).toEqual({ tag: "answer-cut" });
    expect(svc.runs.get("answer-cut")).toBe(1);
  });

  it("with 200 ms of added latency each way calls work and deadlines hold", { timeout: 60_000 }, async () => {
    const svc = await service({ clockSkewToleranceMs: 0 });
    const path = await proxy();
    path.setLatency(200);
    const caller = await started(path.url, { agentName: "caller", serviceUrls: { svc: "svc" } });
    expect(await caller.sendRequest("svc", "work", { tag: "slow-path" }, { timeoutMs: 10_000 })).toEqual({ tag: "slow-path" });
    // Its deadline passes on the way: the server does not run it, and the caller times out on time.
    const late = caller.sendRequest("svc", "work", { tag: "late" }, { timeoutMs: 100 });
    await expect(late).rejects.toBeInstanceOf(RequestTimeoutError);
    // A call whose handler outlasts its timeout ends at the timeout, not later.
    const began = performance.now();
    await expect(caller.sendRequest("svc", "work", { tag: "outlasted", ms: 3_000 }, { timeoutMs: 1_000 })).rejects.toBeInstanceOf(RequestTimeoutError);
    expect(performance.now() - began).toBeLessThan(2_900);
    // The late request reached the server after its deadline (200 ms on the way): it never ran.
    expect(await caller.sendRequest("svc", "work", { tag: "after" }, { timeoutMs: 10_000 })).toEqual({ tag: "after" });
    expect(svc.runs.has("late")).toBe(false);
  });
});
