import { once } from "node:events";
import { createServer, type AddressInfo, type Socket } from "node:net";
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CommunicationError, ConfigurationError, MqttCommunicator, startBroker, type EmbeddedBroker } from "mqtt-contracts";
import { brokerCommand } from "../src/cli/commands/broker.js";
import { ExitCode } from "../src/cli/exit-codes.js";
import { Children, TS_NODE_ARGS, within } from "./helpers/child-process.js";
import { freePort } from "./helpers/mosquitto.js";
import { communicator, started } from "./helpers/communicators.js";
import { recordingIo } from "./helpers/recording-io.js";
import { recordingLogger } from "./helpers/recording-logger.js";
import { startRedis, type RedisServer } from "./helpers/redis.js";

const PASSWORD = "s3cret-redis-pw";

/** The connections the embedded brokers hold open to `redis` (they name themselves in CLIENT LIST). */
async function brokerConnections(redis: RedisServer): Promise<number> {
  const list = await redis.command("CLIENT", "LIST");
  return list.split("\n").filter((line) => / name=mqtt-contracts-broker /.test(line)).length;
}

describe("embedded brokers joined through Redis", () => {
  let redis: RedisServer;
  let brokerA: EmbeddedBroker;
  let brokerB: EmbeddedBroker;
  const rawClients: MqttClient[] = [];

  beforeAll(async () => {
    redis = await startRedis({ password: PASSWORD });
    brokerA = await startBroker({ redis: redis.url });
    brokerB = await startBroker({ redis: redis.url });
  });

  afterEach(async () => {
    await Promise.all(rawClients.splice(0).map((client) => client.endAsync(true)));
  });

  afterAll(async () => {
    await brokerA?.close();
    await brokerB?.close();
    await redis?.close();
  });

  it("say they joined through Redis, password masked", () => {
    expect(brokerA.redis).toBe(`redis://:***@127.0.0.1:${redis.port}`);
    expect(brokerA.url).not.toBe(brokerB.url);
  });

  it("answer each of 20 calls from a client on broker A to a service on broker B once, with its result", async () => {
    // A raw client on broker A sees every publish of the exchange, wherever it was published.
    const observer = await mqtt.connectAsync(brokerA.url, { protocolVersion: 4, reconnectPeriod: 0 });
    rawClients.push(observer);
    const seen = new Map<string, number>();
    observer.on("message", (topic) => seen.set(topic, (seen.get(topic) ?? 0) + 1));
    await observer.subscribeAsync(["calc/#", "caller/#"], { qos: 1 });

    let handled = 0;
    await started(
      brokerB.url,
      { agentName: "calc" },
      {
        add: ({ a, b }: { a: number; b: number }) => {
          handled += 1;
          return { sum: a + b };
        },
      },
    );
    const client = await started(brokerA.url, { agentName: "caller", serviceUrls: { calc: "calc" } });

    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => client.sendRequest<{ sum: number }>("calc", "add", { a: i, b: 1000 })));
    expect(results.map((result) => result.sum)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1000));
    expect(handled).toBe(20);
    // Every request crossed once, and every response came back once: 20 each, on the observer too.
    const requests = () => [...seen].filter(([topic]) => topic.startsWith("calc/request/")).reduce((n, [, count]) => n + count, 0);
    const responses = () => [...seen].filter(([topic]) => topic.includes("/response/")).reduce((n, [, count]) => n + count, 0);
    await expect.poll(requests).toBe(20);
    await expect.poll(responses).toBe(20);
    expect(handled).toBe(20);
  });

  it("deliver a notification from a client on broker A to a handler on broker B", async () => {
    const server = communicator(brokerB.url, { agentName: "logsvc" });
    const received = new Promise<unknown>((resolve) => server.registerHandler("log", (params) => resolve(params)));
    await server.start();
    const client = await started(brokerA.url, { agentName: "logger-client", serviceUrls: { logsvc: "logsvc" } });
    await client.sendNotification("logsvc", "log", { message: "across brokers" });
    await expect(within(received, 10_000, "the notification")).resolves.toEqual({ message: "across brokers" });
  });

  it("keep a retained message in Redis for a subscriber of the other broker", async () => {
    const publisher = await mqtt.connectAsync(brokerA.url, { protocolVersion: 4, reconnectPeriod: 0 });
    rawClients.push(publisher);
    await publisher.publishAsync("registry/agents/calc", JSON.stringify({ up: true }), { qos: 1, retain: true });
    const late = await mqtt.connectAsync(brokerB.url, { protocolVersion: 4, reconnectPeriod: 0 });
    rawClients.push(late);
    const message = new Promise<[string, string, boolean]>((resolve) => late.once("message", (topic, payload, packet) => resolve([topic, payload.toString(), packet.retain])));
    await late.subscribeAsync("registry/agents/+", { qos: 1 });
    await expect(within(message, 10_000, "the retained message")).resolves.toEqual(["registry/agents/calc", '{"up":true}', true]);
    await publisher.publishAsync("registry/agents/calc", "", { qos: 1, retain: true }); // clear it
  });

  it("print the Redis it joined in the CLI's listening line, password masked", async () => {
    const io = recordingIo(process.cwd());
    const exit = brokerCommand({ host: "127.0.0.1", port: 0, redis: redis.url }, io);
    await within(io.waitFor(/listening on/), 15_000, "the listening line");
    expect(io.stdout).toMatch(new RegExp(`listening on mqtt://127\\.0\\.0\\.1:\\d+ \\(MQTT 3\\.1\\.1, joined through Redis redis://:\\*\\*\\*@127\\.0\\.0\\.1:${redis.port}\\)`));
    expect(io.stdout + io.stderr).not.toContain(PASSWORD);
    io.stop();
    await expect(exit).resolves.toBe(ExitCode.Ok);
  });
});

describe("mqtt-contracts broker --redis, as a user runs it", () => {
  const children = new Children();
  afterEach(() => children.killAll());

  it("joins two broker processes through Redis: a call made through one reaches a service on the other, and a group spans both", async () => {
    const redis = await startRedis();
    try {
      const brokers = [0, 1].map(() => children.startTs("src/cli/main.ts", ["broker", "--port", "0", "--redis", redis.url]));
      const urls = await Promise.all(brokers.map(async (broker) => (await broker.waitForStdout(/listening on (mqtt:\/\/\S+) \(MQTT 3\.1\.1, joined through Redis/, 30_000))[1]!));
      const members = urls.map((url, i) => {
        const member = new MqttCommunicator({ agentName: "calc", options: { url, clientId: `calc-${i}`, sharedGroup: "workers", sharedRouting: "instances" }, logger: recordingLogger() });
        member.registerHandler<{ a: number; b: number }>("add", ({ a, b }) => ({ sum: a + b, by: i }));
        return member;
      });
      for (const member of members) await member.start();
      try {
        // The CLI's client connects to broker 0; the group has an instance on each broker.
        for (let n = 0; n < 4; n++) {
          const run = await children.startTs("src/cli/main.ts", ["call", "calc", "add", JSON.stringify({ a: n, b: 1 }), "--url", urls[0]!]).exit(60_000);
          expect(run.code).toBe(0);
          expect(JSON.parse(run.stdout)).toMatchObject({ sum: n + 1 });
        }
        const ls = await children.startTs("src/cli/main.ts", ["ls", "--url", urls[1]!]).exit(60_000);
        expect(ls.stdout).toMatch(/\ncalc\s+calc-0\s/);
        expect(ls.stdout).toMatch(/\ncalc\s+calc-1\s/);
      } finally {
        for (const member of members) await member.stop();
      }
    } finally {
      await children.killAll();
      await redis.close();
    }
  });
});

describe("closing brokers joined through Redis", () => {
  let redis: RedisServer;
  const children = new Children();

  beforeAll(async () => {
    redis = await startRedis({ password: PASSWORD });
  });

  afterEach(() => children.killAll());

  afterAll(async () => {
    await redis?.close();
  });

  it("closes every Redis connection of broker A and B", async () => {
    const brokerA = await startBroker({ redis: redis.url });
    const brokerB = await startBroker({ redis: redis.url });
    // Each broker holds three: the emitter's publisher and subscriber, and the persistence's.
    expect(await brokerConnections(redis)).toBe(6);
    const client = await mqtt.connectAsync(brokerA.url, { protocolVersion: 4, reconnectPeriod: 0 });
    await client.endAsync();
    await brokerA.close();
    await brokerB.close();
    await expect.poll(() => brokerConnections(redis)).toBe(0);
  });

  it("lets a process that closed its brokers exit by itself", async () => {
    // A child process starts two brokers on the same Redis, makes a call across them, closes them and
    // returns from its script: it must then exit on its own, with nothing left holding it open.
    const script = `
      const { startBroker, MqttCommunicator } = await import("mqtt-contracts");
      const silent = { debug() {}, info() {}, warn() {}, error() {} };
      const a = await startBroker({ redis: process.env.REDIS_URL });
      const b = await startBroker({ redis: process.env.REDIS_URL });
      const server = new MqttCommunicator({ agentName: "echo", options: { url: b.url }, logger: silent });
      server.registerHandler("echo", (params) => params);
      await server.start();
      const client = new MqttCommunicator({ agentName: "asker", serviceUrls: { echo: "echo" }, options: { url: a.url }, logger: silent });
      await client.start();
      const answer = await client.sendRequest("echo", "echo", { across: true });
      await client.stop();
      await server.stop();
      await a.close();
      await b.close();
      console.log("closed " + JSON.stringify(answer));
    `;
    const child = children.start(process.execPath, [...TS_NODE_ARGS, "--input-type=module", "-e", script], { env: { REDIS_URL: redis.url } });
    const exit = await child.exit(30_000);
    expect(exit.stdout).toContain('closed {"across":true}');
    expect(exit.code).toBe(0);
    await expect.poll(() => brokerConnections(redis)).toBe(0);
  });

  it("drops its Redis connections when Redis is gone, and still closes", async () => {
    const own = await startRedis();
    const errors: CommunicationError[] = [];
    const broker = await startBroker({ redis: own.url, onRedisError: (error) => errors.push(error) });
    await own.close();
    await expect.poll(() => errors.length, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(errors[0]!.message).toContain(`Redis at redis://127.0.0.1:${own.port}`);
    await within(broker.close(), 20_000, "close() with Redis down");
  });
});

describe("a Redis that cannot be joined", () => {
  it("is a ConfigurationError at once for a URL that does not parse, naming it with the password masked", async () => {
    const bad = "redis://:hunter22@127.0.0.1:notaport";
    const error = await startBroker({ redis: bad }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain('"redis://:***@127.0.0.1:notaport"');
    expect((error as Error).message).not.toContain("hunter22");
  });

  it.each([
    ["another scheme", "mqtt://127.0.0.1:6379", /scheme must be redis:\/\/ or rediss:\/\//],
    ["a path that is not a database number", "redis://127.0.0.1:6379/zero", /database number/],
    ["query parameters", "redis://127.0.0.1:6379/0?family=6", /query parameters/],
  ])("is a ConfigurationError for %s", async (_what, url, reason) => {
    const error = await startBroker({ redis: url }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(reason);
    expect((error as Error).message).toContain(url);
  });

  it("is a CommunicationError naming the URL, password masked, when nothing listens there", async () => {
    const port = await freePort();
    const url = `redis://:hunter22@127.0.0.1:${port}/2`;
    const error = await startBroker({ redis: url, redisConnectTimeoutMs: 5_000 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CommunicationError);
    expect(error).not.toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain(`redis://:***@127.0.0.1:${port}/2`);
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
    expect((error as Error).message).not.toContain("hunter22");
  });

  it("is a CommunicationError after redisConnectTimeoutMs when the server there never answers, and lets go of it", async () => {
    // Accepts connections and never says a word: connecting works, the handshake never ends.
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      socket.resume(); // read (and drop) what comes, so that the client's FIN is seen
      sockets.add(socket);
      socket.once("close", () => sockets.delete(socket));
    });
    silent.listen(0, "127.0.0.1");
    await once(silent, "listening");
    const port = (silent.address() as AddressInfo).port;
    try {
      const error = await within(
        startBroker({ redis: `redis://127.0.0.1:${port}`, redisConnectTimeoutMs: 1_000 }).catch((caught: unknown) => caught),
        20_000,
        "startBroker against a silent server",
      );
      expect(error).toBeInstanceOf(CommunicationError);
      expect((error as Error).message).toContain(`redis://127.0.0.1:${port}`);
      expect((error as Error).message).toMatch(/within 1000 ms/);
      await expect.poll(() => sockets.size, { timeout: 10_000 }).toBe(0);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it("makes the CLI exit 2 naming the URL, and 64 for a URL that does not parse", async () => {
    const port = await freePort();
    const io = recordingIo(process.cwd());
    await expect(brokerCommand({ host: "127.0.0.1", port: 0, redis: `redis://:hunter22@127.0.0.1:${port}` }, io)).resolves.toBe(ExitCode.Unavailable);
    expect(io.stderr).toContain(`redis://:***@127.0.0.1:${port}`);
    const io2 = recordingIo(process.cwd());
    await expect(brokerCommand({ host: "127.0.0.1", port: 0, redis: "redis://:hunter22@[nope" }, io2)).resolves.toBe(ExitCode.Usage);
    expect(io2.stderr).toContain("redis://");
    expect(io.stderr + io2.stderr).not.toContain("hunter22");
  });
});
