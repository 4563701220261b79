import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MqttCommunicator } from "mqtt-contracts";
import { brokers, type TestBroker } from "./helpers/brokers.js";
import { recordingLogger } from "./helpers/recording-logger.js";

describe.each(brokers)("round trips on %s", (_name, start) => {
  let broker: TestBroker;
  let server: MqttCommunicator;
  let client: MqttCommunicator;

  beforeEach(async () => {
    broker = await start();
    server = new MqttCommunicator({ agentName: "calc", options: broker.options(), logger: recordingLogger() });
    client = new MqttCommunicator({ agentName: "caller", serviceUrls: { calc: "calc" }, options: broker.options(), logger: recordingLogger() });
    server.registerHandler<{ a: number; b: number }>("add", ({ a, b }) => ({ sum: a + b }));
    await server.start();
    await client.start();
  });

  afterEach(async () => {
    await client.stop();
    await server.stop();
    await broker.close();
  });

  it("returns the handler's result", async () => {
    await expect(client.sendRequest("calc", "add", { a: 2, b: 3 })).resolves.toEqual({ sum: 5 });
  });

  it("delivers notifications to the handler without answering", async () => {
    const received = new Promise<unknown>((resolve) => server.registerHandler("log", (params) => resolve(params)));
    await client.sendNotification("calc", "log", { message: "hello" });
    await expect(received).resolves.toEqual({ message: "hello" });
  });

  it("correlates 1 000 concurrent requests", async () => {
    const calls = Array.from({ length: 1000 }, (_, i) => client.sendRequest<{ sum: number }>("calc", "add", { a: i, b: 1_000_000 }));
    const results = await Promise.all(calls);
    expect(results.map((r) => r.sum)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1_000_000));
  });

  it("serves a prefix that spans several levels", async () => {
    const arm = new MqttCommunicator({ agentName: "arm", options: broker.options({ topicPrefix: "plant1/arm" }), logger: recordingLogger() });
    arm.registerHandler("where", () => "plant1");
    await arm.start();
    const caller = new MqttCommunicator({ agentName: "c2", serviceUrls: { arm: "plant1/arm" }, options: broker.options(), logger: recordingLogger() });
    await caller.start();
    try {
      await expect(caller.sendRequest("arm", "where")).resolves.toBe("plant1");
    } finally {
      await caller.stop();
      await arm.stop();
    }
  });
});
