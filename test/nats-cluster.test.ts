import mqtt, { type MqttClient } from "mqtt";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, onTestFailed } from "vitest";
import { CommunicationError, type MqttCommunicator, type MqttCommunicatorOptions } from "mqtt-contracts";
import { within } from "./helpers/child-process.js";
import { startNatsCluster, type NatsCluster } from "./helpers/nats-cluster.js";
import { communicator, type BrokerRef, type CommunicatorSpec, type Handlers } from "./helpers/communicators.js";

// NATS maps MQTT topic levels to subject tokens ("/" becomes "."), so a "." in a topic is refused:
// every agent name, prefix and topic here is free of dots.

describe("a 3-node NATS cluster with MQTT", () => {
  let cluster: NatsCluster;
  const rawClients: MqttClient[] = [];

  beforeAll(async () => {
    cluster = await startNatsCluster({ nodes: 3 });
    console.info(`NATS cluster of 3 ready for MQTT in ${cluster.readyMs} ms`);
  }, 150_000);

  beforeEach(() => {
    // What the servers said is the best clue to a failure here: show their errors and warnings.
    onTestFailed(() => {
      for (const node of cluster.nodes) {
        const lines = node.log.split("\n").filter((line) => /\[(ERR|WRN)\]/.test(line) && !/route|Waiting for routing/i.test(line));
        console.error(`--- ${node.name} (${node.mqttUrl}), pid ${node.pid ?? "stopped"}: its last errors and warnings ---\n${lines.slice(-15).join("\n")}`);
      }
    });
  });

  afterEach(async () => {
    await Promise.all(rawClients.splice(0).map((client) => client.endAsync(true)));
  });

  afterAll(async () => {
    await cluster?.close();
  }, 60_000);

  /** Node `n` (1-based) as communicator options. NATS creates a replicated JetStream consumer for each QoS 1 subscription: a start takes seconds. */
  const on = (n: number, extra: MqttCommunicatorOptions = {}): MqttCommunicatorOptions => ({ url: cluster.nodes[n - 1]!.mqttUrl, connectTimeoutMs: 60_000, ...extra });
  /** Node `n` for the communicator helpers. */
  const node = (n: number): BrokerRef => ({ options: (extra) => on(n, extra) });

  /**
   * A communicator on node `n` (stopped after the test) with `handlers`, started. Under load, NATS may refuse a QoS 1 SUBSCRIBE (SUBACK 0x80) when creating its
   * JetStream consumer takes longer than its internal 4 s JS API timeout; `start()` then fails with a
   * CommunicationError naming the filters. These tests are about calls across nodes, so such a start
   * is tried again (twice at most) with a new communicator.
   */
  async function started(n: number, spec: CommunicatorSpec, handlers: Handlers = {}): Promise<MqttCommunicator> {
    for (let attempt = 1; ; attempt++) {
      const made = communicator(node(n), spec);
      for (const [method, handler] of Object.entries(handlers)) made.registerHandler(method, handler);
      try {
        await made.start();
        return made;
      } catch (error) {
        if (attempt >= 3 || !(error instanceof CommunicationError) || !/refused the subscription/.test(error.message)) throw error;
        console.warn(`start attempt ${attempt} of ${made.clientId}: ${error.message}; trying again`);
        await made.stop().catch(() => undefined);
      }
    }
  }

  /** Each step of a raw client gets a bound of its own, so that a stall names the step. */
  const step = <T>(promise: Promise<T>, what: string) => within(promise, 30_000, what);

  async function raw(n: number, options: mqtt.IClientOptions = {}): Promise<MqttClient> {
    // Under load NATS refuses a CONNECT now and then while its JetStream requests time out ("JetStream system
    // temporarily unavailable", CONNACK 3): what these tests check comes after the connect, so try again.
    for (let attempt = 1; ; attempt++) {
      try {
        // allowRetries false: a connection closed before its CONNACK rejects instead of waiting for ever.
        const client = await step(mqtt.connectAsync(cluster.nodes[n - 1]!.mqttUrl, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 30_000, ...options }, false), `connecting to n${n}`);
        rawClients.push(client);
        return client;
      } catch (error) {
        if (attempt >= 5) throw error;
        await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
      }
    }
  }

  /**
   * The retained message on `topic` as a new subscriber of node `n` gets it. A retained message reaches
   * the other nodes a moment after the PUBACK (each node loads it from the `$MQTT_rmsgs` stream), and
   * a subscription made before that never gets it: so subscribe afresh until it comes, within 30 s.
   */
  async function retainedOn(n: number, filter: string, topic: string): Promise<{ payload: string; retain: boolean; qos: number; attempts: number }> {
    const deadline = Date.now() + 30_000;
    for (let attempts = 1; ; attempts++) {
      const client = await raw(n);
      const message = new Promise<{ payload: string; retain: boolean; qos: number } | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), 1_000);
        client.on("message", (received, payload, packet) => {
          if (received !== topic) return;
          clearTimeout(timer);
          resolve({ payload: payload.toString(), retain: packet.retain, qos: packet.qos });
        });
      });
      // QoS 0: NATS replays retained messages at QoS 0 anyway, and a QoS 0 subscription needs no JetStream consumer.
      await step(client.subscribeAsync(filter, { qos: 0 }), `subscribing to ${filter} on n${n}`);
      const got = await message;
      await client.endAsync(true);
      if (got !== undefined) return { ...got, attempts };
      if (Date.now() > deadline) throw new Error(`no retained message on ${topic} reached a subscriber of n${n} in 30 s (${attempts} attempts)`);
    }
  }

  /** Subscribe and check that the server granted QoS 1: NATS answers 0x80 when it could not create the JetStream consumer. */
  async function subscribe(client: MqttClient, filter: string, where: string): Promise<void> {
    const granted = await step(client.subscribeAsync(filter, { qos: 1 }), `subscribing to ${filter} on ${where}`);
    expect(granted.map((grant) => grant.qos), `the QoS granted for ${filter} on ${where}`).toEqual([1]);
  }

  it("a service on node 2 answers 20 calls from a client on node 1 and 20 from a client on node 3", async () => {
    let handled = 0;
    const service = await started(
      2,
      { agentName: "calc" },
      {
        add: ({ a, b }: { a: number; b: number }) => {
          handled += 1;
          return { sum: a + b };
        },
      },
    );
    // NATS speaks MQTT 3.1.1 only: "auto" tries 5, is refused ("unacceptable protocol version") and falls back.
    const [fromNode1, fromNode3] = await Promise.all([
      started(1, { agentName: "callerone", serviceUrls: { calc: "calc" }, options: { protocolVersion: 4 } }),
      started(3, { agentName: "callerthree", serviceUrls: { calc: "calc" } }),
    ]);
    expect([service.protocolVersion, fromNode1.protocolVersion, fromNode3.protocolVersion]).toEqual([4, 4, 4]);

    const calls = (client: MqttCommunicator, base: number) => Promise.all(Array.from({ length: 20 }, (_, i) => client.sendRequest<{ sum: number }>("calc", "add", { a: i, b: base }, { timeoutMs: 30_000 })));
    const [one, three] = await Promise.all([calls(fromNode1, 1000), calls(fromNode3, 3000)]);
    expect(one.map((result) => result.sum)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1000));
    expect(three.map((result) => result.sum)).toEqual(Array.from({ length: 20 }, (_, i) => i + 3000));
    expect(handled).toBe(40);
  }, 120_000);

  it("a notification from node 1 and one from node 3 reach a handler on node 2", async () => {
    const received: unknown[] = [];
    let arrived: () => void = () => undefined;
    const both = new Promise<void>((resolve) => (arrived = resolve));
    await started(
      2,
      { agentName: "logsvc" },
      {
        log: (params) => {
          received.push(params);
          if (received.length === 2) arrived();
        },
      },
    );
    const [fromNode1, fromNode3] = await Promise.all([
      started(1, { agentName: "notifierone", serviceUrls: { logsvc: "logsvc" } }),
      started(3, { agentName: "notifierthree", serviceUrls: { logsvc: "logsvc" } }),
    ]);
    await fromNode1.sendNotification("logsvc", "log", { from: "n1" });
    await fromNode3.sendNotification("logsvc", "log", { from: "n3" });
    await within(both, 30_000, "two notifications across nodes");
    expect(received).toEqual(expect.arrayContaining([{ from: "n1" }, { from: "n3" }]));
    expect(received).toHaveLength(2);
  }, 120_000);

  it("a retained message published on node 1 reaches a subscriber that connects later on node 3", async () => {
    const publisher = await raw(1);
    await step(publisher.publishAsync("registry/agents/calc", '{"up":true}', { qos: 1, retain: true }), "publishing the retained message on n1");
    const kept = await retainedOn(3, "registry/agents/+", "registry/agents/calc");
    expect(kept).toMatchObject({ payload: '{"up":true}', retain: true });
    console.info(`retained message from n1 seen on n3 at attempt ${kept.attempts}, QoS ${kept.qos}`);
    await step(publisher.publishAsync("registry/agents/calc", "", { qos: 1, retain: true }), "deleting the retained message"); // an empty retained message deletes it
  }, 120_000);

  it("the Last Will of a client whose connection dies on node 2 is delivered on node 1, and kept if retained", async () => {
    const watcher = await raw(1);
    const will = new Promise<[string, string]>((resolve) => watcher.once("message", (topic, payload) => resolve([topic, payload.toString()])));
    await subscribe(watcher, "registry/status/+", "n1");
    const victim = await raw(2, { clientId: "victimtwo", will: { topic: "registry/status/victimtwo", payload: Buffer.from("offline"), qos: 1, retain: true } });
    victim.stream.destroy(); // no DISCONNECT: the broker must publish the will
    await expect(step(will, "the will on node 1")).resolves.toEqual(["registry/status/victimtwo", "offline"]);

    const kept = await retainedOn(3, "registry/status/+", "registry/status/victimtwo");
    expect(kept).toMatchObject({ payload: "offline", retain: true });
    console.info(`retained will from n2 seen on n3 at attempt ${kept.attempts}, QoS ${kept.qos}`);
    await step(watcher.publishAsync("registry/status/victimtwo", "", { qos: 1, retain: true }), "deleting the retained will");
  }, 120_000);

  it("closes the connection of a client that publishes to a topic with a dot", async () => {
    const client = await raw(1);
    const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
    client.publish("plant.one/request/add", "{}", { qos: 1 }, () => undefined);
    await step(closed, "the server closing the connection");
  }, 60_000);

  it("a node stopped and started again serves MQTT in the cluster again (the helper's stop and start)", async () => {
    const node3 = cluster.nodes[2]!;
    const before = node3.pid;
    await node3.stop();
    expect(node3.pid).toBeUndefined();
    await node3.start();
    expect(node3.pid).toBeDefined();
    expect(node3.pid).not.toBe(before);
    const subscriber = await raw(1);
    const message = new Promise<string>((resolve) => subscriber.once("message", (_topic, payload) => resolve(payload.toString())));
    await subscribe(subscriber, "probe/restarted", "n1");
    const publisher = await raw(3);
    await step(publisher.publishAsync("probe/restarted", "back", { qos: 1 }), "publishing on the restarted n3");
    await expect(step(message, "a message from the restarted node")).resolves.toBe("back");
  }, 150_000);
});
