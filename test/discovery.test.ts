/**
 * Discovery: every server's retained record, `discover()`, `rpc.discover` (OpenRPC, from the contract),
 * `rpc.stats`, and the CLI's `ls`, `describe` and `stats`, run as separate processes as a user runs them.
 */
import mqtt from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { defineService, discover, MqttCommunicator, registerService, startBroker, type EmbeddedBroker, type OpenRpcDocument, type StatsSnapshot } from "mqtt-contracts";
import { Children } from "./helpers/child-process.js";
import { communicator, started } from "./helpers/communicators.js";
import { recordingLogger } from "./helpers/recording-logger.js";

const Calculator = defineService({
  name: "Calculator",
  version: "1.2.0",
  methods: {
    add: { description: "Add two numbers", params: z.object({ a: z.number(), b: z.number().optional() }), result: z.object({ sum: z.number() }) },
    divide: {
      params: z.object({ a: z.number(), b: z.number() }),
      result: z.number(),
      errors: { DivisionByZero: { code: 4000 } },
    },
  },
  notifications: {
    reset: { params: z.object({ reason: z.string() }) },
  },
});

const CLI = "src/cli/main.ts";

describe("discovery on the embedded broker", () => {
  let broker: EmbeddedBroker;
  let server: MqttCommunicator;
  const children = new Children();
  afterEach(() => children.killAll());

  beforeAll(async () => {
    broker = await startBroker();
    server = new MqttCommunicator({ agentName: "calc", options: { url: broker.url, clientId: "calc-1" }, logger: recordingLogger() });
    registerService(server, Calculator, {
      add: ({ a, b }: { a: number; b?: number }) => ({ sum: a + (b ?? 0) }),
      divide: ({ a, b }: { a: number; b: number }) => a / b,
      reset: () => undefined,
    });
    server.registerHandler("raw", () => "untyped");
    await server.start();
  });

  afterAll(async () => {
    await server.stop();
    await broker.close();
  });

  it("publishes a retained record that discover() reads", async () => {
    const services = await discover({ connection: { url: broker.url } });
    expect(services).toHaveLength(1);
    const [calc] = services;
    expect(calc).toMatchObject({ prefix: "calc", agents: ["calc"], methods: ["add", "divide"], notifications: ["reset"], handlers: ["raw"] });
    expect(calc!.instances).toHaveLength(1);
    expect(calc!.instances[0]).toMatchObject({ instance: "calc-1", group: null, routing: "single", protocol: "3.1.1", keepaliveSeconds: 60 });
    expect(calc!.instances[0]!.library).toMatch(/^mqtt-contracts@\d+\.\d+\.\d+/);
    expect(calc!.instances[0]!.schemaDigest).toMatch(/^[0-9a-f]{64}$/);
  });

  it("answers rpc.discover with an OpenRPC document that matches the contract", async () => {
    const caller = await started(broker.url, { agentName: "asker", serviceUrls: { calc: "calc" } });
    const document = await caller.sendRequest<OpenRpcDocument>("calc", "rpc.discover");
    expect(document.openrpc).toBe("1.3.2");
    expect(document.info).toMatchObject({ title: "calc", version: "1.2.0" });
    expect(document.methods.map((method) => method.name)).toEqual(["add", "divide", "raw", "reset"]);
    const [add, divide, raw, reset] = document.methods;
    expect(add).toEqual({
      name: "add",
      description: "Add two numbers",
      "x-service": "Calculator",
      paramStructure: "by-name",
      params: [
        { name: "a", required: true, schema: { type: "number" } },
        { name: "b", required: false, schema: { type: "number" } },
      ],
      result: { name: "result", schema: { type: "object", properties: { sum: { type: "number" } }, required: ["sum"] } },
    });
    expect(divide!.errors).toEqual([{ code: 4000, message: "DivisionByZero" }]);
    expect(divide!.result!.schema).toEqual({ type: "number" });
    expect(raw).toMatchObject({ name: "raw", "x-unchecked": true });
    expect(reset).toMatchObject({ name: "reset", "x-notification": true, params: [{ name: "reason", required: true, schema: { type: "string" } }] });
    expect(reset!.result).toBeUndefined();
  });

  it("counts calls, errors and latency per method in rpc.stats", async () => {
    const caller = await started(broker.url, { agentName: "counter", serviceUrls: { calc: "calc" } });
    const before = await caller.sendRequest<StatsSnapshot>("calc", "rpc.stats");
    for (let i = 0; i < 10; i++) await caller.sendRequest("calc", "add", { a: i, b: 1 });
    await expect(caller.sendRequest("calc", "add", { a: "x" })).rejects.toThrow(/Invalid params/);
    const after = await caller.sendRequest<StatsSnapshot>("calc", "rpc.stats");
    const calls = (snapshot: StatsSnapshot) => snapshot.methods.add?.calls ?? 0;
    const errors = (snapshot: StatsSnapshot) => snapshot.methods.add?.errors ?? 0;
    expect(calls(after) - calls(before)).toBe(11);
    expect(errors(after) - errors(before)).toBe(1);
    expect(after.instance).toBe("calc-1");
    expect(after.methods.add!.p99Ms).toBeGreaterThanOrEqual(after.methods.add!.p50Ms);
    expect(after.methods["rpc.stats"]).toBeUndefined(); // built-ins are not counted
  });

  it("ignores hostile records, answers a flood of discovery queries with at most one record a second, and keeps serving", async () => {
    const log = recordingLogger();
    const watcher = communicator(broker.url, { agentName: "watcher", serviceUrls: { calc: "calc" }, logger: log });
    const peer = await mqtt.connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
    try {
      const records: string[] = [];
      peer.on("message", (topic, payload) => topic === "calc/instance/calc-1" && records.push(payload.toString()));
      await peer.subscribeAsync("calc/instance/calc-1", { qos: 1 });
      const hostile: [string, string][] = [
        ["calc/instance/evil-1", "not json"],
        ["calc/instance/evil-2", JSON.stringify({ kind: "something else" })],
        ["calc/instance/evil-3", JSON.stringify({ kind: "mqtt-contracts/instance", agent: "x", prefix: "other", instance: "evil-3" })],
        ["calc/instance/evil-4", JSON.stringify({ kind: "mqtt-contracts/instance", agent: "x", prefix: "calc", instance: "evil-4", group: "a/b", routing: "single" })],
        ["calc/instance/evil-5", JSON.stringify({ kind: "mqtt-contracts/instance", agent: "x\u001b[31m", prefix: "calc", instance: "evil-5", group: null, routing: "instances", methods: Array(20_000).fill("m") })],
        // Valid in every field but the OpenMAS address, which holds a wildcard.
        ["calc/instance/evil-6", JSON.stringify({ kind: "mqtt-contracts/instance", agent: "x", prefix: "calc", instance: "evil-6", group: null, routing: "single", methods: [], notifications: [], handlers: [], schemaDigest: "0", library: "x", protocol: "5", startedAt: 1, keepaliveSeconds: 60, openmas: "openmas/#" })],
      ];
      for (const [topic, payload] of hostile) await peer.publishAsync(topic, payload, { qos: 1, retain: true });
      await watcher.start();
      // Only the real instance is seen, by the watcher and by discover().
      await vi.waitFor(() => expect(log.find("warn", /ignored a discovery record on calc\/instance\/evil-/)).toBeDefined(), { timeout: 5_000, interval: 20 });
      expect(watcher.liveInstances("calc").map((record) => record.instance)).toEqual(["calc-1"]);
      expect((await discover({ connection: { url: broker.url }, prefix: "calc" }))[0]!.instances.map((record) => record.instance)).toEqual(["calc-1"]);
      expect(log.lines.some((line) => line.message.includes("\u001b"))).toBe(false); // escaped

      // 200 queries in a burst: the record is published again about once a second, not 200 times.
      const before = records.length;
      const began = Date.now();
      for (let i = 0; i < 200; i++) await peer.publishAsync("calc/discover", "x".repeat(i), { qos: 0 });
      await vi.waitFor(() => expect(records.length).toBeGreaterThan(before), { timeout: 5_000, interval: 20 });
      const elapsedSeconds = (Date.now() - began) / 1000;
      expect(records.length - before).toBeLessThanOrEqual(Math.ceil(elapsedSeconds) + 2);
      await expect(watcher.sendRequest("calc", "add", { a: 1, b: 2 })).resolves.toEqual({ sum: 3 });
    } finally {
      for (const [topic] of [["calc/instance/evil-1"], ["calc/instance/evil-2"], ["calc/instance/evil-3"], ["calc/instance/evil-4"], ["calc/instance/evil-5"], ["calc/instance/evil-6"]]) {
        await peer.publishAsync(topic!, "", { qos: 1, retain: true });
      }
      await peer.endAsync(true);
    }
  });

  it("mqtt-contracts ls lists the service and its instance", async () => {
    const run = await children.startTs(CLI, ["ls", "--url", broker.url]).exit();
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^PREFIX\s+AGENT\s+METHODS\s+STREAMING\s+NOTIFICATIONS\s+INSTANCES\s+ROUTING\ncalc\s+calc\s+3\s+-\s+1\s+1\s+no group\n/);
    expect(run.stdout).toMatch(/\ncalc\s+calc-1\s+\d+(s|m \d\ds)\s+MQTT 3\.1\.1\s+mqtt-contracts@/);
    const json = await children.startTs(CLI, ["ls", "--json", "--url", broker.url]).exit();
    expect(JSON.parse(json.stdout)[0]).toMatchObject({ prefix: "calc", instances: [{ instance: "calc-1" }] });
  });

  it("mqtt-contracts ls says which instances also serve OpenMAS's built-in format, and where", async () => {
    await started(broker.url, { agentName: "planner", options: { clientId: "planner-1", wireFormat: "openmas" } }, { plan: () => ["step"] });
    const run = await children.startTs(CLI, ["ls", "--url", broker.url]).exit();
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/\bOPENMAS FORMAT\n/);
    expect(run.stdout).toMatch(/\nplanner\s+planner-1\s+.*mqtt-contracts@\S+\s+openmas\/planner\n/);
    expect(run.stdout).toMatch(/\ncalc\s+calc-1\s+.*mqtt-contracts@\S+\s+-\n/);
    const json = await children.startTs(CLI, ["ls", "--json", "--url", broker.url]).exit();
    const services = JSON.parse(json.stdout) as { prefix: string; instances: { openmas?: string }[] }[];
    expect(services.find((service) => service.prefix === "planner")?.instances[0]?.openmas).toBe("openmas/planner");
    expect(services.find((service) => service.prefix === "calc")?.instances[0]).not.toHaveProperty("openmas");
  });

  it("mqtt-contracts describe shows methods with params and results, and --json the OpenRPC form", async () => {
    const run = await children.startTs(CLI, ["describe", "calc", "--url", broker.url]).exit();
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("calc on calc (version 1.2.0, mqtt-contracts@");
    expect(run.stdout).toContain("method add (Calculator)\n  Add two numbers\n  params: { a: number; b?: number }\n  result: { sum: number }");
    expect(run.stdout).toContain("method divide (Calculator)\n  params: { a: number; b: number }\n  result: number\n  error 4000: DivisionByZero");
    expect(run.stdout).toContain("notification reset (Calculator)\n  params: { reason: string }");
    const one = await children.startTs(CLI, ["describe", "calc", "divide", "--json", "--url", broker.url]).exit();
    expect(JSON.parse(one.stdout)).toMatchObject({ name: "divide", errors: [{ code: 4000 }] });
    const missing = await children.startTs(CLI, ["describe", "calc", "nope", "--url", broker.url]).exit();
    expect(missing).toMatchObject({ code: 1 });
    expect(missing.stderr).toContain('calc has no method or notification "nope"; it has: add, divide, raw, reset');
  });

  it("mqtt-contracts stats shows calls, errors and latency per instance and method", async () => {
    const run = await children.startTs(CLI, ["stats", "calc", "--url", broker.url]).exit();
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^INSTANCE\s+UPTIME\s+METHOD\s+CALLS\s+ERRORS\s+AVG MS\s+P50 MS\s+P99 MS\n/);
    expect(run.stdout).toMatch(/\ncalc-1\s+\S+\s+add\s+\d+\s+1\s+[\d.]+\s+[\d.]+\s+[\d.]+/);
  });
});
