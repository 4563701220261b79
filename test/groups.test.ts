/**
 * Instance groups: instances with one `sharedGroup` share their prefix's requests, each running on one
 * live instance, on Mosquitto (`$share`) and on aedes (which grants `$share` but delivers nothing, so the
 * group falls back to instance topics and hashing). Requests from a raw MQTT peer that knows nothing of
 * instances run once too.
 */
import type { MqttClient } from "mqtt";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { defineService, discover, registerService, type MqttCommunicator } from "mqtt-contracts";
import { brokerForTest, brokers, tcpBrokers, type TestBroker } from "./helpers/brokers.js";
import { communicator, started } from "./helpers/communicators.js";
import { Children } from "./helpers/child-process.js";
import { inbox, type Inbox } from "./helpers/inbox.js";
import { recordingLogger } from "./helpers/recording-logger.js";

const CALLS = 100;

describe.each(brokers)("instance groups on %s", (name, start) => {
  let broker: TestBroker;
  const servers: MqttCommunicator[] = [];
  let client: MqttCommunicator;
  let peer: MqttClient;
  let seen: Inbox;
  /** Request key → the instances that ran it. */
  const runs = new Map<string, string[]>();
  const expectedRouting = name === "mosquitto" ? "shared" : "instances";

  async function startInstance(index: number): Promise<MqttCommunicator> {
    const clientId = `grp-${index}`;
    const server = await started(
      broker,
      { agentName: "grp", options: { sharedGroup: "workers", clientId, shareProbeMs: 1_000 } },
      {
        work: ({ key }: { key: string }) => {
          runs.set(key, [...(runs.get(key) ?? []), clientId]);
          return { key, instance: clientId };
        },
      },
    );
    servers.push(server);
    return server;
  }

  /** Every server and the client see exactly `count` live instances of grp. */
  async function membersSettle(count: number): Promise<void> {
    await vi.waitFor(
      () => {
        for (const server of servers) expect(server.liveInstances().map((record) => record.instance)).toHaveLength(count);
        expect(client.liveInstances("grp")).toHaveLength(count);
      },
      { timeout: 10_000, interval: 20 },
    );
  }

  beforeEach(async () => {
    runs.clear();
    servers.length = 0;
    broker = await brokerForTest(start);
    client = communicator(broker, { agentName: "caller", serviceUrls: { grp: "grp" } });
    peer = await broker.rawClient({ protocolVersion: 4 });
    seen = inbox(peer);
    await peer.subscribeAsync("raw/reply/#", { qos: 1 });
  });

  afterEach(() => seen.dispose());

  /** `CALLS` calls from the client and `CALLS` raw requests; every one answered once and run once. */
  async function runRound(round: string): Promise<Map<string, number>> {
    const results = await Promise.all(Array.from({ length: CALLS }, (_, n) => client.sendRequest<{ key: string; instance: string }>("grp", "work", { key: `${round}-c${n}` }, { timeoutMs: 20_000 })));
    for (const [n, result] of results.entries()) expect(result.key).toBe(`${round}-c${n}`);
    for (let n = 0; n < CALLS; n++) {
      const body = { jsonrpc: "2.0", id: `${round}-r${n}`, method: "work", params: { key: `${round}-r${n}` }, response_topic: `raw/reply/${round}/${n}` };
      await peer.publishAsync("grp/request/work", JSON.stringify(body), { qos: 1 });
    }
    for (let n = 0; n < CALLS; n++) expect(await seen.jsonOn(`raw/reply/${round}/${n}`, 20_000)).toMatchObject({ id: `${round}-r${n}`, result: { key: `${round}-r${n}` } });
    // A last call after every answer: anything a second instance would still run has run by then.
    await client.sendRequest("grp", "work", { key: `${round}-fence` });
    for (let n = 0; n < CALLS; n++) {
      expect(runs.get(`${round}-c${n}`), `call ${n}`).toHaveLength(1);
      expect(runs.get(`${round}-r${n}`), `raw request ${n}`).toHaveLength(1);
    }
    for (let n = 0; n < CALLS; n++) expect(seen.on(`raw/reply/${round}/${n}`)).toHaveLength(1);
    const perInstance = new Map<string, number>();
    for (const [key, instances] of runs) if (key.startsWith(`${round}-`)) perInstance.set(instances[0]!, (perInstance.get(instances[0]!) ?? 0) + 1);
    return perInstance;
  }

  it(`runs each request exactly once on 3, then 2 instances of a group, with ${expectedRouting} routing`, async () => {
    for (let i = 0; i < 3; i++) await startInstance(i);
    await client.start();
    for (const server of servers) expect(server.routing).toBe(expectedRouting);
    await membersSettle(3);

    const three = await runRound("three");
    console.log(`${name}, 3 instances: runs per instance ${JSON.stringify(Object.fromEntries(three))}`);
    expect(three.size).toBe(3); // the work is spread

    await servers.shift()!.stop();
    await membersSettle(2);
    const two = await runRound("two");
    console.log(`${name}, 2 instances: runs per instance ${JSON.stringify(Object.fromEntries(two))}`);
    expect([...two.keys()].sort()).toEqual(["grp-1", "grp-2"]);
  });

  it("delivers a notification to every instance, or to one when its contract says delivery: \"one\"", async () => {
    const Events = defineService({
      name: "Events",
      notifications: {
        broadcast: { params: z.object({ n: z.number() }) },
        job: { params: z.object({ n: z.number() }), delivery: "one" },
      },
    });
    const handled: string[] = [];
    for (let i = 0; i < 2; i++) {
      const server = communicator(broker, { agentName: "grp", options: { sharedGroup: "workers", clientId: `ev-${i}`, shareProbeMs: 1_000 } });
      registerService(server, Events, {
        broadcast: ({ n }: { n: number }) => void handled.push(`broadcast ${n} on ev-${i}`),
        job: ({ n }: { n: number }) => void handled.push(`job ${n} on ev-${i}`),
      });
      await server.start();
      servers.push(server);
    }
    await client.start();
    await membersSettle(2);
    for (let n = 0; n < 20; n++) {
      await client.sendNotification("grp", "broadcast", { n });
      await client.sendNotification("grp", "job", { n });
    }
    // A last broadcast, published after them all on the same connection: once both instances handled it,
    // each has seen every job before it.
    await client.sendNotification("grp", "broadcast", { n: 99 });
    await vi.waitFor(() => expect(handled.filter((line) => line.startsWith("broadcast 99 "))).toHaveLength(2), { timeout: 10_000, interval: 20 });
    for (let n = 0; n < 20; n++) {
      expect(handled.filter((line) => line.startsWith(`broadcast ${n} `)).sort()).toEqual([`broadcast ${n} on ev-0`, `broadcast ${n} on ev-1`]);
      expect(handled.filter((line) => line.startsWith(`job ${n} `))).toHaveLength(1);
    }
    const jobsOn = new Set(handled.filter((line) => line.startsWith("job")).map((line) => line.split(" on ")[1]));
    expect(jobsOn.size).toBe(2); // shared between the two
  });

  it("warns when instances on one prefix have no group, and the caller warns once of a second answer", async () => {
    const logs = [recordingLogger(), recordingLogger()];
    for (const [i, log] of logs.entries()) {
      servers.push(await started(broker, { agentName: "grp", options: { clientId: `solo-${i}` }, logger: log }, { work: () => ({ instance: i }) }));
    }
    const clientLog = recordingLogger();
    const caller = await started(broker, { agentName: "caller2", serviceUrls: { grp: "grp" }, logger: clientLog });
    await vi.waitFor(() => expect(logs[1]!.find("warn", /instance solo-0 \(agent grp\) also serves grp, with no sharedGroup.*every request to grp runs on both/)).toBeDefined(), { timeout: 5_000, interval: 20 });
    await vi.waitFor(() => expect(logs[0]!.find("warn", /instance solo-1 \(agent grp\) also serves grp/)).toBeDefined(), { timeout: 5_000, interval: 20 });
    for (let n = 0; n < 5; n++) await caller.sendRequest("grp", "work", {});
    await vi.waitFor(() => expect(clientLog.find("warn", /a second answer came to one work request to grp: more than one instance serves grp \(instances seen: solo-0, solo-1\)/)).toBeDefined(), { timeout: 5_000, interval: 20 });
    expect(clientLog.lines.filter((line) => line.level === "warn" && /second answer/.test(line.message))).toHaveLength(1);
  });
});

describe.each(tcpBrokers)("a killed or hung instance of a group on %s", (name, start) => {
  const children = new Children();
  afterEach(() => children.killAll());

  it("disappears from discover() and ls (a hung one within ~1.5 keepalives), and calls go on with the rest", async () => {
    const broker = await brokerForTest(start);
    const client = communicator(broker.url, { agentName: "caller", serviceUrls: { grp: "grp" } });
    const instances = ["grp-a", "grp-b", "grp-c"].map((id) => children.startTs("test/fixtures/groups/server.ts", [broker.url, "workers", id]));
    for (const instance of instances) await instance.waitForStdout(/^ready (shared|instances)$/m, 60_000);
    await client.start();
    await vi.waitFor(() => expect(client.liveInstances("grp")).toHaveLength(3), { timeout: 10_000, interval: 20 });
    expect((await discover({ connection: { url: broker.url } }))[0]!.instances.map((record) => record.instance)).toEqual(["grp-a", "grp-b", "grp-c"]);

    const killedAt = Date.now();
    instances[1]!.process.kill("SIGKILL");
    await vi.waitFor(() => expect(client.liveInstances("grp").map((record) => record.instance)).toEqual(["grp-a", "grp-c"]), { timeout: 15_000, interval: 20 });
    const gone = Date.now() - killedAt;
    console.log(`${name}: the killed instance left the caller's view ${gone} ms after SIGKILL (keepalive 1 s)`);
    const listed = await discover({ connection: { url: broker.url } });
    expect(listed.map((service) => [service.prefix, service.instances.map((record) => record.instance)])).toEqual([["grp", ["grp-a", "grp-c"]]]);
    const ls = await children.startTs("src/cli/main.ts", ["ls", "--url", broker.url]).exit(60_000);
    expect(ls.stdout).toMatch(/^grp\s+grp\s+1\s+-\s+0\s+2\s+group workers/m);
    expect(ls.stdout).not.toContain("grp-b");

    const answers = await Promise.all(Array.from({ length: 40 }, (_, n) => client.sendRequest<{ n: number; instance: string }>("grp", "work", { n }, { timeoutMs: 10_000 })));
    expect(answers.map((answer) => answer.n)).toEqual(Array.from({ length: 40 }, (_, n) => n));
    expect(new Set(answers.map((answer) => answer.instance))).toEqual(new Set(["grp-a", "grp-c"]));

    // A hung instance (its host frozen, its socket open) goes when the broker's keepalive check fails.
    const frozenAt = Date.now();
    instances[2]!.process.kill("SIGSTOP");
    await vi.waitFor(() => expect(client.liveInstances("grp").map((record) => record.instance)).toEqual(["grp-a"]), { timeout: 20_000, interval: 20 });
    console.log(`${name}: the hung instance left the caller's view ${Date.now() - frozenAt} ms after SIGSTOP (keepalive 1 s)`);
    const last = await Promise.all(Array.from({ length: 20 }, (_, n) => client.sendRequest<{ instance: string }>("grp", "work", { n }, { timeoutMs: 10_000 })));
    expect(new Set(last.map((answer) => answer.instance))).toEqual(new Set(["grp-a"]));
  });
});

describe.each(tcpBrokers)("kill -9 of one of three members under steady traffic on %s", (name, start) => {
  const children = new Children();
  afterEach(() => children.killAll());

  it("answers every call once, by a live member, long before its timeout: none waits for the dead member", { timeout: 120_000 }, async () => {
    const broker = await brokerForTest(start);
    const log = recordingLogger();
    const client = communicator(broker.url, { agentName: "caller", serviceUrls: { grp: "grp" }, logger: log });
    // Each call takes 300 ms at its member: about a third of those in flight are at the member that dies.
    const instances = ["grp-a", "grp-b", "grp-c"].map((id) => children.startTs("test/fixtures/groups/server.ts", [broker.url, "workers", id, "300"]));
    for (const instance of instances) await instance.waitForStdout(/^ready (shared|instances)$/m, 60_000);
    await client.start();
    await vi.waitFor(() => expect(client.liveInstances("grp")).toHaveLength(3), { timeout: 10_000, interval: 20 });

    const TIMEOUT_MS = 15_000;
    const calls: { n: number; sentAt: number; settled?: number; answer?: { instance: string }; error?: unknown }[] = [];
    let sending = true;
    let killedAt = 0;
    const load = (async () => {
      for (let n = 0; sending; n++) {
        const call: (typeof calls)[number] = { n, sentAt: performance.now() };
        calls.push(call);
        client.sendRequest<{ n: number; instance: string }>("grp", "work", { n }, { timeoutMs: TIMEOUT_MS }).then(
          (answer) => Object.assign(call, { answer, settled: performance.now() }),
          (error: unknown) => Object.assign(call, { error, settled: performance.now() }),
        );
        await new Promise((resolve) => setTimeout(resolve, 10)); // ~100 calls/s, paced
      }
    })();
    await vi.waitFor(() => expect(calls.length).toBeGreaterThan(100), { timeout: 30_000, interval: 20 });
    killedAt = performance.now();
    instances[1]!.process.kill("SIGKILL");
    await vi.waitFor(() => expect(client.liveInstances("grp").map((record) => record.instance)).toEqual(["grp-a", "grp-c"]), { timeout: 15_000, interval: 20 });
    const sentBeforeGone = calls.length;
    await vi.waitFor(() => expect(calls.length).toBeGreaterThan(sentBeforeGone + 100), { timeout: 30_000, interval: 20 });
    sending = false;
    await load;
    await vi.waitFor(() => expect(calls.every((call) => call.settled !== undefined)).toBe(true), { timeout: TIMEOUT_MS + 5_000, interval: 50 });

    const failed = calls.filter((call) => call.error !== undefined);
    const inFlightAtKill = calls.filter((call) => call.sentAt < killedAt && call.settled! > killedAt);
    const slowest = Math.max(...inFlightAtKill.map((call) => call.settled! - call.sentAt));
    const byDead = calls.filter((call) => call.answer?.instance === "grp-b" && call.settled! > killedAt);
    console.log(`${name}: ${calls.length} calls, ${failed.length} failed; ${inFlightAtKill.length} in flight at the kill, the slowest answered after ${slowest.toFixed(0)} ms; ${log.lines.filter((line) => /is gone/.test(line.message)).length} resend warning(s)`);
    expect(failed.map((call) => String(call.error))).toEqual([]);
    expect(byDead).toEqual([]);
    // None waited out its timeout: those at the dead member went to the others when its Last Will came.
    expect(slowest).toBeLessThan(TIMEOUT_MS / 2);
    expect(log.lines.filter((line) => line.level === "warn" && /a second answer/.test(line.message))).toEqual([]);
  });
});
