import { beforeEach, describe, expect, it, vi } from "vitest";
import { CommunicationError, MqttCommunicator } from "mqtt-contracts";
import { brokerForTest, brokers, type TestBroker } from "./helpers/brokers.js";
import { communicatorPair } from "./helpers/communicators.js";
import { recordingLogger } from "./helpers/recording-logger.js";

describe.each(brokers)("lifecycle on %s", (_name, start) => {
  let broker: TestBroker;

  beforeEach(async () => {
    broker = await brokerForTest(start);
  });

  it("refuses sendRequest and sendNotification before start and after stop", async () => {
    const { client } = communicatorPair(broker);
    await expect(client.sendRequest("svc", "x")).rejects.toThrow(CommunicationError);
    await expect(client.sendRequest("svc", "x")).rejects.toThrow(/is idle, not started/);
    await client.start();
    await client.stop();
    await expect(client.sendRequest("svc", "x")).rejects.toThrow(/is stopped, not started/);
    await expect(client.sendNotification("svc", "x")).rejects.toThrow(CommunicationError);
    await expect(client.start()).rejects.toThrow(/cannot start|Cannot start/);
  });

  it("stop() rejects every pending request with CommunicationError", async () => {
    const { server, client } = communicatorPair(broker, { server: { stopGraceMs: 50 } });
    let entered!: () => void;
    const handlerEntered = new Promise<void>((resolve) => (entered = resolve));
    server.registerHandler("hang", () => {
      entered();
      return new Promise(() => undefined);
    });
    await server.start();
    await client.start();
    const calls = [1, 2, 3].map(() => client.sendRequest("svc", "hang").catch((e: unknown) => e));
    await handlerEntered;
    await client.stop();
    const errors = await Promise.all(calls);
    for (const error of errors) {
      expect(error).toBeInstanceOf(CommunicationError);
      expect((error as Error).message).toBe("Request hang to svc was cancelled: caller stopped");
    }
    await server.stop();
  });

  it("stop() lets running handlers answer first", async () => {
    const { server, client } = communicatorPair(broker);
    let entered!: () => void;
    const handlerEntered = new Promise<void>((resolve) => (entered = resolve));
    let finish!: () => void;
    server.registerHandler("work", async () => {
      entered();
      await new Promise<void>((resolve) => (finish = resolve));
      return "finished";
    });
    await server.start();
    await client.start();
    const call = client.sendRequest("svc", "work");
    await handlerEntered;
    const stopping = server.stop();
    finish();
    await stopping;
    await expect(call).resolves.toBe("finished");
    await client.stop();
  });

  it("stop() aborts handlers still running after the grace period", async () => {
    const { server, client } = communicatorPair(broker, { server: { stopGraceMs: 200 } });
    let entered!: () => void;
    const handlerEntered = new Promise<void>((resolve) => (entered = resolve));
    let abortReason: unknown;
    server.registerHandler("stubborn", (_params, context) => {
      entered();
      return new Promise((_, reject) =>
        context.signal.addEventListener("abort", () => {
          abortReason = context.signal.reason;
          reject(new Error("aborted by stop"));
        }),
      );
    });
    await server.start();
    await client.start();
    const call = client.sendRequest("svc", "stubborn", {}, { timeoutMs: 5_000 }).catch((e: unknown) => e);
    await handlerEntered;
    const startedAt = Date.now();
    await server.stop();
    expect(Date.now() - startedAt).toBeLessThan(4_000);
    expect(abortReason).toBeInstanceOf(CommunicationError);
    expect(await call).toBeInstanceOf(Error);
    await client.stop();
  });

  it("forgets each handler once it is done, whether it answered, failed, or threw at once", async () => {
    const { server, client } = communicatorPair(broker);
    const ran: string[] = [];
    server.registerHandler("answers", async () => "ok");
    server.registerHandler("fails", async () => {
      throw new Error("no");
    });
    server.registerHandler("throwsAtOnce", () => {
      ran.push("throwsAtOnce");
      throw new Error("at once");
    });
    server.registerHandler("noteLater", async () => {
      await new Promise((resolve) => setImmediate(resolve));
      ran.push("noteLater");
    });
    await server.start();
    await client.start();
    await expect(client.sendRequest("svc", "answers")).resolves.toBe("ok");
    await expect(client.sendRequest("svc", "fails")).rejects.toThrow("no");
    await client.sendNotification("svc", "throwsAtOnce");
    await client.sendNotification("svc", "noteLater");
    await vi.waitFor(() => expect(ran.sort()).toEqual(["noteLater", "throwsAtOnce"]), { timeout: 5_000, interval: 5 });
    const running = (server as unknown as { dispatcher: { runs: { size: number } } }).dispatcher.runs;
    await vi.waitFor(() => expect(running.size).toBe(0), { timeout: 5_000, interval: 5 });
    await client.stop();
    await server.stop();
  });

  it("a second stop() and a stop() before start() are harmless", async () => {
    const idle = new MqttCommunicator({ agentName: "idle", options: broker.options(), logger: recordingLogger() });
    await idle.stop();
    await expect(idle.start()).rejects.toThrow(/stopped/);
    const { server } = communicatorPair(broker);
    await server.start();
    await Promise.all([server.stop(), server.stop()]);
    await server.stop();
  });
});
