/**
 * A flood on a real Mosquitto: 50 000 requests to a handler that takes 5 s. The service runs at most
 * maxConcurrentHandlers handlers and reads no more until one is free, so the rest wait at the broker:
 * its memory stays flat, and every call ends, answered or timed out, none hanging.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RequestTimeoutError } from "mqtt-contracts";
import { Children, type Child } from "./helpers/child-process.js";
import { startMosquitto, type Mosquitto } from "./helpers/mosquitto.js";
import { started } from "./helpers/communicators.js";

const REQUESTS = 50_000;
const CALL_TIMEOUT_MS = 10_000;
const MiB = 1024 * 1024;

interface Figures {
  rss: number;
  heap: number;
  started: number;
  running: number;
  maxRunning: number;
}

describe("a flood of slow requests on Mosquitto", { timeout: 120_000 }, () => {
  const children = new Children();
  let mosquitto: Mosquitto;
  let server: Child;

  beforeAll(async () => {
    mosquitto = await startMosquitto();
    server = children.startTs("test/fixtures/flood/server.ts", [mosquitto.url]);
    await server.waitForStdout(/^ready$/m, 60_000);
  }, 120_000);
  afterAll(async () => {
    await children.killAll();
    await mosquitto?.close();
  });

  const latest = (): Figures => {
    const lines = server.stdout.trim().split("\n").filter((line) => line.startsWith("{"));
    return JSON.parse(lines.at(-1)!) as Figures;
  };
  const peakRss = (): number => Math.max(...server.stdout.trim().split("\n").filter((line) => line.startsWith("{")).map((line) => (JSON.parse(line) as Figures).rss));

  it("does not run a request whose MQTT 5 deadline passed while it waited for a free handler", async () => {
    const ran: string[] = [];
    let finishFirst: () => void = () => undefined;
    await started(
      mosquitto.url,
      { agentName: "narrow", options: { maxConcurrentHandlers: 1 } },
      {
        work: async ({ name }: { name: string }) => {
          ran.push(name);
          if (name === "first") await new Promise<void>((resolve) => (finishFirst = resolve));
          return { name };
        },
      },
    );
    const caller = await started(mosquitto.url, { agentName: "narrow_caller", serviceUrls: { narrow: "narrow" } });
    const first = caller.sendRequest("narrow", "work", { name: "first" }, { timeoutMs: 30_000 });
    // A 1 s deadline (the Message Expiry Interval), read while "first" holds the only handler.
    const late = caller.sendRequest("narrow", "work", { name: "late" }, { timeoutMs: 1_000 });
    await expect(late).rejects.toBeInstanceOf(RequestTimeoutError);
    // The server knows the deadline in whole seconds of Message Expiry, counted from when it read the
    // request: let it pass there too (up to ~1 s after the caller's own timeout), then free the handler.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    finishFirst();
    await expect(first).resolves.toEqual({ name: "first" });
    // A call after them runs: the gate opened again once "late" was dropped.
    await expect(caller.sendRequest("narrow", "work", { name: "after" }, { timeoutMs: 10_000 })).resolves.toEqual({ name: "after" });
    expect(ran).toEqual(["first", "after"]);
  });

  it(`answers or times out each of ${REQUESTS} requests, runs at most 1024 handlers at once, and keeps the server within 64 MiB of idle`, async () => {
    await server.waitForStdout(/^\{.*\n\{.*\n\{/m, 10_000); // a few idle samples
    const idle = latest().rss;

    const client = await started(mosquitto.url, { agentName: "flooder", serviceUrls: { flood: "flood" } });
    const outcomes = await Promise.allSettled(Array.from({ length: REQUESTS }, () => client.sendRequest("flood", "slow", {}, { timeoutMs: CALL_TIMEOUT_MS })));
    const answered = outcomes.filter((outcome) => outcome.status === "fulfilled").length;
    const timedOut = outcomes.filter((outcome) => outcome.status === "rejected" && outcome.reason instanceof RequestTimeoutError).length;
    const figures = latest();
    const peak = peakRss();
    console.log(
      `flood: ${answered} answered, ${timedOut} timed out, of ${REQUESTS}; handlers started ${figures.started}, at most ${figures.maxRunning} at once; server RSS idle ${(idle / MiB).toFixed(1)} MiB, peak ${(peak / MiB).toFixed(1)} MiB (+${((peak - idle) / MiB).toFixed(1)})`,
    );
    expect(answered + timedOut).toBe(REQUESTS);
    expect(answered).toBeGreaterThan(0);
    expect(figures.maxRunning).toBeLessThanOrEqual(1024);
    expect(peak - idle).toBeLessThan(64 * MiB);
  });
});
