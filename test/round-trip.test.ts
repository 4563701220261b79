import { beforeEach, describe, expect, it } from "vitest";
import type { MqttCommunicator } from "mqtt-contracts";
import { brokerForTest, brokers, type TestBroker } from "./helpers/brokers.js";
import { started, startedPair } from "./helpers/communicators.js";

describe.each(brokers)("round trips on %s", (_name, start) => {
  let broker: TestBroker;
  let server: MqttCommunicator;
  let client: MqttCommunicator;

  beforeEach(async () => {
    broker = await brokerForTest(start);
    ({ server, client } = await startedPair(broker, { serverName: "calc", handlers: { add: ({ a, b }: { a: number; b: number }) => ({ sum: a + b }) } }));
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
    await started(broker, { agentName: "arm", options: { topicPrefix: "plant1/arm" } }, { where: () => "plant1" });
    const caller = await started(broker, { agentName: "c2", serviceUrls: { arm: "plant1/arm" } });
    await expect(caller.sendRequest("arm", "where")).resolves.toBe("plant1");
  });
});
