/**
 * Stopping is bounded with the broker gone: a served agent exits on one SIGTERM within its handlers' grace
 * plus the close timeout, whether the broker was gone before the signal or went away during the stop.
 * Each agent is a process of its own, as it runs under systemd or Kubernetes.
 */
import { afterEach, describe, expect, it } from "vitest";
import { CLOSE_TIMEOUT_MS, DEFAULT_STOP_GRACE_MS } from "../src/communicator/defaults.js";
import { Children } from "./helpers/child-process.js";
import { RawCaller, startFloodServer } from "./helpers/flood.js";
import { startMosquitto, type Mosquitto } from "./helpers/mosquitto.js";

const children = new Children();
let mosquitto: Mosquitto | undefined;
afterEach(async () => {
  await children.killAll();
  await mosquitto?.close();
  mosquitto = undefined;
});

/** Time for node and tsx to start a process and for a loaded machine: the bound is about hanging, not speed. */
const SLACK_MS = 8_000;

describe("stop() with the broker gone", () => {
  it("the example served with --serve, its broker killed, exits 0 on one SIGTERM at once", { timeout: 60_000 }, async () => {
    mosquitto = await startMosquitto();
    const example = children.startTs("examples/mqtt-example.ts", ["--serve", "--url", mosquitto.url]);
    await example.waitForStdout(/serving on/, 30_000);
    await mosquitto.stop();
    await example.waitForStderr(/Lost the connection/, 10_000);
    const signalled = performance.now();
    example.process.kill("SIGTERM");
    const stopped = await example.exit(CLOSE_TIMEOUT_MS + SLACK_MS);
    const tookMs = performance.now() - signalled;
    console.log(`stopped ${tookMs.toFixed(0)} ms after SIGTERM with the broker gone`);
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toContain("SIGTERM received; stopping");
    expect(stopped.stdout).toContain("mqtt_example_agent stopped cleanly");
  });

  it("a server whose broker goes away while it drains a running handler exits on one SIGTERM within grace + close timeout", { timeout: 60_000 }, async () => {
    mosquitto = await startMosquitto();
    // A handler longer than the grace: stop() waits the grace, aborts it, and closes without the broker.
    const server = await startFloodServer(children, mosquitto.url, { agentName: "draining", handlerMs: 60_000 });
    const caller = await RawCaller.connect(mosquitto.url);
    try {
      caller.send("draining", "slow", 1);
      await server.waitForStdout(/"running":1,/, 15_000);
      server.process.kill("SIGTERM");
      const signalled = performance.now();
      // The handler is still running: the broker goes away in the middle of the stop.
      await mosquitto.stop();
      const stopped = await server.exit(DEFAULT_STOP_GRACE_MS + CLOSE_TIMEOUT_MS + SLACK_MS);
      console.log(`stopped ${(performance.now() - signalled).toFixed(0)} ms after SIGTERM (grace ${DEFAULT_STOP_GRACE_MS} ms), the broker gone meanwhile`);
      expect(stopped.code).toBe(0);
    } finally {
      await caller.close().catch(() => undefined);
    }
  });
});
