/**
 * `protocolVersion: "auto"` against a broker that does not speak MQTT 5 and says so only by closing the
 * socket: RabbitMQ 3.x with its MQTT plugin, a node started by the test on free ports.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { MqttCommunicator } from "mqtt-contracts";
import { Children } from "./helpers/child-process.js";
import { communicator } from "./helpers/communicators.js";
import { startRabbitMq, type RabbitMq } from "./helpers/rabbitmq.js";
import { recordingLogger } from "./helpers/recording-logger.js";

const children = new Children();
afterEach(() => children.killAll());

describe("protocolVersion auto against RabbitMQ's MQTT plugin (3.1.1 only)", { timeout: 60_000 }, () => {
  let rabbit: RabbitMq;
  let server: MqttCommunicator;
  const log = recordingLogger();

  beforeAll(async () => {
    rabbit = await startRabbitMq();
    server = new MqttCommunicator({ agentName: "rabbit_svc", options: { url: rabbit.mqttUrl, connectTimeoutMs: 30_000 }, logger: log });
    server.registerHandler("add", ({ a, b }: { a: number; b: number }) => ({ sum: a + b }));
    await server.start();
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
    await rabbit?.close();
  }, 60_000);

  it("falls back to 3.1.1 when the broker closes the socket on an MQTT 5 CONNECT, well before the connect timeout", () => {
    expect(server.protocolVersion).toBe(4);
    expect(log.find("info", /closed the connection after an MQTT 5 CONNECT; falling back to MQTT 3\.1\.1|did not answer an MQTT 5 CONNECT/)).toBeDefined();
  });

  it("then carries calls both ways", async () => {
    const client = communicator(rabbit.mqttUrl, { agentName: "rabbit_caller", serviceUrls: { svc: "rabbit_svc" }, options: { connectTimeoutMs: 30_000 } });
    const started = Date.now();
    await client.start();
    // The connect timeout is 30 s: the fallback must not wait it out (RabbitMQ closes at once; silence costs 3 s).
    expect(Date.now() - started).toBeLessThan(15_000);
    await expect(client.sendRequest("svc", "add", { a: 2, b: 3 }, { timeoutMs: 10_000 })).resolves.toEqual({ sum: 5 });
  });

  it("the CLI calls through it with its default --protocol auto", async () => {
    const run = await children.startTs("src/cli/main.ts", ["call", "rabbit_svc", "add", '{"a":20,"b":22}', "--url", rabbit.mqttUrl]).exit(60_000);
    expect(run).toMatchObject({ code: 0, stdout: '{"sum":42}\n' });
  });

  it("carries a group there on instance topics: RabbitMQ grants $share and delivers nothing", async () => {
    const runs: string[] = [];
    const members = ["rgrp-1", "rgrp-2"].map((clientId) => {
      const member = communicator(rabbit.mqttUrl, { agentName: "rgrp", options: { connectTimeoutMs: 30_000, sharedGroup: "workers", clientId } });
      member.registerHandler("work", ({ n }: { n: number }) => {
        runs.push(`${n}@${clientId}`);
        return clientId;
      });
      return member;
    });
    const caller = communicator(rabbit.mqttUrl, { agentName: "rgrp_caller", serviceUrls: { rgrp: "rgrp" }, options: { connectTimeoutMs: 30_000 } });
    for (const member of members) await member.start();
    expect(members.map((member) => member.routing)).toEqual(["instances", "instances"]);
    await caller.start();
    await vi.waitFor(() => expect(caller.liveInstances("rgrp")).toHaveLength(2), { timeout: 15_000, interval: 20 });
    const answers = await Promise.all(Array.from({ length: 40 }, (_, n) => caller.sendRequest<string>("rgrp", "work", { n }, { timeoutMs: 20_000 })));
    expect(new Set(answers)).toEqual(new Set(["rgrp-1", "rgrp-2"]));
    await caller.sendRequest("rgrp", "work", { n: 99 }, { timeoutMs: 20_000 }); // after every answer
    for (let n = 0; n < 40; n++) expect(runs.filter((run) => run.startsWith(`${n}@`)), `request ${n}`).toHaveLength(1);
  });

  it("the example runs against it", async () => {
    const run = await children.startTs("examples/mqtt-example.ts", ["--url", rabbit.mqttUrl]).exit(60_000);
    expect(run.stdout).toContain("mqtt_example_agent stopped cleanly");
    expect(run.code).toBe(0);
  });
});
