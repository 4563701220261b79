import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  BaseAgent,
  ConfigurationError,
  MemoryBus,
  MemoryCommunicator,
  MqttCommunicator,
  ServiceNotFoundError,
  type Communicator,
  type CommunicatorInit,
  type InboundMessage,
} from "mqtt-contracts";
import { brokerForTest, startAedesInProcess, type TestBroker } from "./helpers/brokers.js";
import { startedPair } from "./helpers/communicators.js";
import { inbox, isDiscoveryTopic } from "./helpers/inbox.js";
import { recordingLogger } from "./helpers/recording-logger.js";
import { failure, thrown } from "./helpers/failures.js";

/** Values that can never stand in a topic, with the reason the error must give. */
const badNames: [value: string, problem: string][] = [
  ["", "must not be empty"],
  ["arm+1", 'must not contain the MQTT wildcard "+"'],
  ["plant/+", 'must not contain the MQTT wildcard "+"'],
  ["arm#", 'must not contain the MQTT wildcard "#"'],
  ["plant/#", 'must not contain the MQTT wildcard "#"'],
  ["arm\u0000evil", "must not contain NUL"],
];

/** A prefix also must not start with "$" (broker topics) nor end with "/". */
const badPrefixes: [value: string, problem: string][] = [
  ...badNames,
  ["$SYS/broker", 'must not start with "$" (reserved for broker topics such as $SYS)'],
  ["$share/group/arm", 'must not start with "$" (reserved for broker topics such as $SYS)'],
  ["plant1/arm/", 'must not end with "/"'],
];

/** `<what> "<value>" <problem>`, the way every configuration-time name check words it. */
const named = (what: string, value: string, problem: string) => `${what} ${JSON.stringify(value)} ${problem}`;

type Make = (init: CommunicatorInit<Record<string, unknown>>) => Communicator;

const kinds: [name: string, make: Make][] = [
  // Constructing an mqtt communicator does not connect: no broker is needed for these checks.
  ["MqttCommunicator", (init) => new MqttCommunicator({ logger: recordingLogger(), ...init })],
  ["MemoryCommunicator", (init) => new MemoryCommunicator({ logger: recordingLogger(), ...init, options: { bus: new MemoryBus(), ...init.options } })],
];

describe.each(kinds)("names checked when a %s is configured", (_kind, make) => {
  it.each(badPrefixes)("refuses the agent name %j", (value, problem) => {
    const error = thrown(() => make({ agentName: value }));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toContain(named("agent name", value, problem));
  });

  it.each(badPrefixes)("refuses the serviceUrls value %j", (value, problem) => {
    const error = thrown(() => make({ agentName: "planner", serviceUrls: { camera: "camera", arm: value } }));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toContain(named("serviceUrls.arm", value, problem));
  });

  it.each(badPrefixes)("refuses the topicPrefix option %j", (value, problem) => {
    const error = thrown(() => make({ agentName: "arm", options: { topicPrefix: value } }));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toContain(named("topicPrefix", value, problem));
  });

  it.each(badNames)("refuses the clientId option %j", (value, problem) => {
    const error = thrown(() => make({ agentName: "arm", options: { clientId: value } }));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toContain(named("clientId", value, problem));
  });

  it.each(badNames)("refuses to register a handler for the method %j", (value, problem) => {
    const communicator = make({ agentName: "arm" });
    const error = thrown(() => communicator.registerHandler(value, () => null));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toBe(named("method", value, problem));
  });

  it("accepts names a topic can carry: levels, dashes, a clientId starting with $", () => {
    const communicator = make({ agentName: "arm-1", serviceUrls: { arm: "plant1/cell 2/arm" }, options: { topicPrefix: "plant1/arm", clientId: "$client" } });
    expect(() => communicator.registerHandler("joint/move", () => null)).not.toThrow();
  });
});

describe("the exact messages", () => {
  it("names the value and the rule", () => {
    expect(thrown(() => new MemoryCommunicator({ agentName: "arm+1" })).message).toMatchInlineSnapshot(`"agent name "arm+1" must not contain the MQTT wildcard "+""`);
    expect(thrown(() => new MemoryCommunicator({ agentName: "a", serviceUrls: { arm: "$SYS/arm" } })).message).toMatchInlineSnapshot(
      `"serviceUrls.arm "$SYS/arm" must not start with "$" (reserved for broker topics such as $SYS)"`,
    );
    expect(thrown(() => new MemoryCommunicator({ agentName: "a", options: { clientId: "a\u0000b" } })).message).toMatchInlineSnapshot(
      `"Invalid memory communicator options for a: communicatorOptions.clientId: clientId "a\\u0000b" must not contain NUL"`,
    );
    expect(thrown(() => new MqttCommunicator({ agentName: "a", options: { clientId: "caller+1" } })).message).toMatchInlineSnapshot(
      `"Invalid mqtt communicator options for a: communicatorOptions.clientId: clientId "caller+1" must not contain the MQTT wildcard "+""`,
    );
    expect(thrown(() => new MqttCommunicator({ agentName: "a", options: { topicPrefix: "plant/#" } })).message).toMatchInlineSnapshot(
      `"Invalid mqtt communicator options for a: communicatorOptions.topicPrefix: topicPrefix "plant/#" must not contain the MQTT wildcard "#""`,
    );
  });
});

describe("names checked when a BaseAgent is configured", () => {
  const agents: BaseAgent[] = [];
  afterEach(async () => {
    await Promise.all(agents.splice(0).map((agent) => agent.stop()));
  });

  it.each(badPrefixes)("refuses the name %j", (value, problem) => {
    const error = thrown(() => new BaseAgent({ name: value }));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toBe(`Invalid agent config: name: ${named("agent name", value, problem)}`);
  });

  it.each(badPrefixes)("refuses the serviceUrls value %j", (value, problem) => {
    const error = thrown(() => new BaseAgent({ name: "planner", serviceUrls: { arm: value } }));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toBe(`Invalid agent config: serviceUrls.arm: ${named("topic prefix", value, problem)}`);
  });

  it.each([
    ["mqtt", { topicPrefix: "plant/+/arm" }, 'topicPrefix "plant/+/arm" must not contain the MQTT wildcard "+"'],
    ["mqtt", { clientId: "arm+1" }, 'clientId "arm+1" must not contain the MQTT wildcard "+"'],
    ["memory", { topicPrefix: "$SYS" }, 'topicPrefix "$SYS" must not start with "$"'],
    ["memory", { clientId: "arm#" }, 'clientId "arm#" must not contain the MQTT wildcard "#"'],
  ] as const)("refuses %s option %j when it starts, before connecting", async (communicatorType, options, message) => {
    const agent = new BaseAgent({ name: "arm", communicatorType, communicatorOptions: { ...options, ...(communicatorType === "memory" ? { bus: new MemoryBus() } : { url: "mqtt://127.0.0.1:1" }) } }, { logger: recordingLogger() });
    const error = await failure(agent.start());
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toContain(message);
  });

  it.each(badNames)("fails start() when setup registers the method %j", async (value, problem) => {
    class Bad extends BaseAgent {
      protected override async setup(): Promise<void> {
        this.communicator.registerHandler(value, () => null);
      }
    }
    const agent = new Bad({ name: "arm", communicatorType: "memory", communicatorOptions: { bus: new MemoryBus() } }, { logger: recordingLogger() });
    const error = await failure(agent.start());
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toBe(named("method", value, problem));
  });

  it.each(badNames)("refuses to send the method %j", async (value, problem) => {
    const agent = new BaseAgent(
      { name: "planner", communicatorType: "memory", communicatorOptions: { bus: new MemoryBus() }, serviceUrls: { arm: "arm" } },
      { logger: recordingLogger() },
    );
    agents.push(agent);
    await agent.start();
    const request = await failure(agent.communicator.sendRequest("arm", value));
    expect(request).toBeInstanceOf(ConfigurationError);
    expect(request.message).toBe(named("method", value, problem));
    const notification = await failure(agent.communicator.sendNotification("arm", value));
    expect(notification).toBeInstanceOf(ConfigurationError);
    expect(notification.message).toBe(named("method", value, problem));
  });
});

describe("nothing is published for a bad target", () => {
  describe("on aedes", () => {
    let broker: TestBroker;
    let client: MqttCommunicator;

    beforeEach(async () => {
      broker = await brokerForTest(startAedesInProcess);
      ({ client } = await startedPair(broker, { handlers: { ping: () => "pong" } }));
    });

    it("raises ServiceNotFoundError for an unknown service and ConfigurationError for a bad method, publishing nothing", async () => {
      const raw = await broker.rawClient();
      const seen = inbox(raw);
      await raw.subscribeAsync("#");

      const unknown = await failure(client.sendRequest("ghost", "ping"));
      expect(unknown).toBeInstanceOf(ServiceNotFoundError);
      expect(unknown).toMatchObject({ target: "ghost" });
      expect(unknown.message).toMatchInlineSnapshot(`"Service "ghost" is not in serviceUrls of caller (known: svc)"`);
      await expect(client.sendNotification("ghost", "ping")).rejects.toBeInstanceOf(ServiceNotFoundError);
      // A name inherited from Object.prototype is not a service either.
      await expect(client.sendRequest("toString", "ping")).rejects.toBeInstanceOf(ServiceNotFoundError);
      for (const [method] of badNames) {
        await expect(client.sendRequest("svc", method)).rejects.toBeInstanceOf(ConfigurationError);
        await expect(client.sendNotification("svc", method)).rejects.toBeInstanceOf(ConfigurationError);
      }

      // One valid request: it and its response are all the broker ever carried.
      await expect(client.sendRequest("svc", "ping")).resolves.toBe("pong");
      await seen.waitFor((message) => message.topic === client.responseTopic);
      // (The server's retained discovery record, svc/instance/<id>, is not traffic for the bad target.)
      expect(seen.messages.map((message) => message.topic).filter((topic) => !isDiscoveryTopic(topic))).toEqual(["svc/request/ping", client.responseTopic]);
      seen.dispose();
    });
  });

  it("on the memory bus", async () => {
    const bus = new MemoryBus();
    const seen: InboundMessage[] = [];
    bus.subscribe(["#"], (message) => seen.push(message));
    const server = new MemoryCommunicator({ agentName: "svc", options: { bus }, logger: recordingLogger() });
    const client = new MemoryCommunicator({ agentName: "caller", serviceUrls: { svc: "svc" }, options: { bus }, logger: recordingLogger() });
    server.registerHandler("ping", () => "pong");
    await server.start();
    await client.start();
    try {
      await expect(client.sendRequest("ghost", "ping")).rejects.toBeInstanceOf(ServiceNotFoundError);
      await expect(client.sendNotification("ghost", "ping")).rejects.toBeInstanceOf(ServiceNotFoundError);
      await expect(client.sendRequest("svc", "ping+")).rejects.toBeInstanceOf(ConfigurationError);
      await expect(client.sendRequest("svc", "ping")).resolves.toBe("pong");
      expect(seen.map((message) => message.topic).filter((topic) => !isDiscoveryTopic(topic))).toEqual(["svc/request/ping", client.responseTopic]);
    } finally {
      await client.stop();
      await server.stop();
    }
  });
});
