import { createServer, type Socket } from "node:net";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import {
  BaseAgent,
  CommunicationError,
  ConfigurationError,
  MemoryBus,
  MemoryCommunicator,
  MqttCommunicator,
  agentConfigFromEnv,
  agentConfigSchema,
  memoryCommunicatorOptionsSchema,
  mqttCommunicatorOptionsSchema,
  parseAgentConfig,
  registerCommunicator,
  type AgentConfigInput,
  type CommunicatorInit,
  type MemoryCommunicatorOptions,
} from "mqtt-contracts";
import { brokers, type TestBroker } from "./helpers/brokers.js";
import { freePort } from "./helpers/mosquitto.js";
import { recordingLogger } from "./helpers/recording-logger.js";
import { failure, thrown } from "./helpers/failures.js";

type Record = (event: string) => void;

/** The memory communicator, telling `record` when it starts and stops. */
class RecordingCommunicator extends MemoryCommunicator {
  private readonly record: Record;

  constructor(init: CommunicatorInit<MemoryCommunicatorOptions & { record?: Record }>) {
    const { record, ...options } = init.options ?? {};
    super({ ...init, options });
    this.record = record ?? (() => undefined);
  }

  override async start(): Promise<void> {
    await super.start();
    this.record("communicator started");
  }

  override async stop(): Promise<void> {
    this.record("communicator stop");
    await super.stop();
  }
}
registerCommunicator("recording-memory", RecordingCommunicator);

/** An agent that records its lifecycle hooks, and whether its communicator was started at each. */
class RecordingAgent extends BaseAgent {
  constructor(
    config: AgentConfigInput,
    readonly events: string[],
  ) {
    super(config, { logger: recordingLogger() });
  }

  get started(): boolean {
    return (this.communicator as MemoryCommunicator).started;
  }

  protected override async setup(): Promise<void> {
    this.events.push(`setup (started: ${this.started})`);
  }

  protected override async run(): Promise<void> {
    this.events.push(`run (started: ${this.started})`);
  }

  protected override async shutdown(): Promise<void> {
    this.events.push(`shutdown (started: ${this.started})`);
  }
}

describe("agent config validation", () => {
  it("applies the defaults", () => {
    expect(parseAgentConfig({ name: "solo" })).toEqual({ name: "solo", communicatorType: "mqtt", communicatorOptions: {}, serviceUrls: {} });
  });

  it("names a bad serviceUrls entry", () => {
    const error = thrown(() => new BaseAgent({ name: "planner", serviceUrls: { arm: "plant/+/arm" } }));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toMatchInlineSnapshot(`"Invalid agent config: serviceUrls.arm: topic prefix "plant/+/arm" must not contain the MQTT wildcard "+""`);
  });

  it("names a bad or missing name", () => {
    expect(thrown(() => new BaseAgent({ name: "" })).message).toMatchInlineSnapshot(`"Invalid agent config: name: agent name "" must not be empty"`);
    expect(thrown(() => new BaseAgent({} as AgentConfigInput)).message).toMatchInlineSnapshot(
      `"Invalid agent config: name: Invalid input: expected string, received undefined"`,
    );
  });

  it("rejects an unknown key", () => {
    const error = thrown(() => new BaseAgent({ name: "planner", serviceURLs: {} } as AgentConfigInput));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toMatchInlineSnapshot(`"Invalid agent config: config: Unrecognized key: "serviceURLs""`);
  });

  it("names every bad field at once", () => {
    const error = thrown(() => new BaseAgent({ name: "a#b", communicatorType: "", serviceUrls: { arm: "$SYS/arm", gripper: "gripper/" } }));
    expect(error.message).toMatchInlineSnapshot(
      `"Invalid agent config: name: agent name "a#b" must not contain the MQTT wildcard "#"; communicatorType: Too small: expected string to have >=1 characters; serviceUrls.arm: topic prefix "$SYS/arm" must not start with "$" (reserved for broker topics such as $SYS); serviceUrls.gripper: topic prefix "gripper/" must not end with "/""`,
    );
    expect((error as ConfigurationError).details).toHaveLength(4);
  });

  it("names a bad mqtt option when the agent starts, before connecting", async () => {
    // The options belong to the communicator type, which may be a plugin not loaded yet: they are
    // checked when start() builds the communicator.
    const events: string[] = [];
    const agent = new RecordingAgent({ name: "picky", communicatorOptions: { qos: 2, url: "mqtt://127.0.0.1:1" } }, events);
    const error = await failure(agent.start());
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toMatchInlineSnapshot(`"Invalid mqtt communicator options for picky: communicatorOptions.qos: must be 0 or 1, got 2"`);
    expect(events).toEqual([]);
    expect(thrown(() => agent.communicator)).toBeInstanceOf(CommunicationError);
  });

  it("rejects an unknown mqtt option", async () => {
    const agent = new BaseAgent({ name: "typo", communicatorOptions: { brokerHots: "localhost" } }, { logger: recordingLogger() });
    const error = await failure(agent.start());
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toMatchInlineSnapshot(`"Invalid mqtt communicator options for typo: communicatorOptions: Unrecognized key: "brokerHots""`);
  });
});

describe("the exported config and option schemas", () => {
  // Builders rather than constants: a process that checks its options once at start does not keep
  // the schemas alive afterwards.
  const builders = { agentConfigSchema, mqttCommunicatorOptionsSchema, memoryCommunicatorOptionsSchema };

  it.each(Object.entries(builders))("%s builds a new schema on each call", (_name, build) => {
    expect(build()).not.toBe(build());
  });

  it("validate like the communicators and the agent do, defaults included", () => {
    expect(agentConfigSchema().parse({ name: "solo" })).toEqual(parseAgentConfig({ name: "solo" }));
    const mqtt = mqttCommunicatorOptionsSchema().parse({ url: "mqtt://broker:1884" });
    expect(mqtt).toMatchObject({ url: "mqtt://broker:1884", qos: 1, protocolVersion: "auto", keepalive: 60, requestExpiry: true });
    expect(memoryCommunicatorOptionsSchema().parse({})).toMatchObject({ maxPayloadBytes: 1024 * 1024, requestExpiry: true });
    const refused = mqttCommunicatorOptionsSchema().safeParse({ qos: 2, brokerHots: "x" });
    expect(refused.success).toBe(false);
    expect(refused.error?.issues.map((issue) => issue.message)).toEqual(["must be 0 or 1, got 2", 'Unrecognized key: "brokerHots"']);
  });

  it("turn into JSON Schema, e.g. to document or check a config file", () => {
    const schema = z.toJSONSchema(mqttCommunicatorOptionsSchema(), { io: "input", unrepresentable: "any" }) as { properties: { [key: string]: unknown }; additionalProperties: unknown };
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(["url", "qos", "batching", "requestExpiry", "streamBuilder"]));
    expect(schema.additionalProperties).toBe(false);
  });
});

describe("agentConfigFromEnv", () => {
  const defaults: Partial<AgentConfigInput> = {
    name: "from-defaults",
    communicatorType: "mqtt",
    serviceUrls: { arm: "old/arm", camera: "camera" },
    communicatorOptions: { keepalive: 30, qos: 1, url: "mqtt://defaults:1883" },
  };

  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("returns the defaults when no variable is set", () => {
    expect(agentConfigFromEnv(defaults, {})).toEqual({ ...defaults });
  });

  it("lets every variable override the defaults", () => {
    const config = agentConfigFromEnv(defaults, {
      AGENT_NAME: "from-env",
      COMMUNICATOR_TYPE: "memory",
      SERVICE_URLS: JSON.stringify({ arm: "plant1/arm", gripper: "plant1/gripper" }),
      COMMUNICATOR_OPTIONS: JSON.stringify({ qos: 0, clientId: "env-client" }),
      MQTT_URL: "mqtt://env-broker:1884",
    });
    expect(config).toEqual({
      name: "from-env",
      communicatorType: "memory",
      // Merged over the defaults, key by key.
      serviceUrls: { arm: "plant1/arm", camera: "camera", gripper: "plant1/gripper" },
      communicatorOptions: { keepalive: 30, qos: 0, clientId: "env-client", url: "mqtt://env-broker:1884" },
    });
  });

  it("lets MQTT_URL win over a url in COMMUNICATOR_OPTIONS", () => {
    const config = agentConfigFromEnv({ name: "a" }, { COMMUNICATOR_OPTIONS: '{"url":"mqtt://options:1"}', MQTT_URL: "mqtt://variable:2" });
    expect(config.communicatorOptions).toEqual({ url: "mqtt://variable:2" });
  });

  it("reads process.env by default", () => {
    vi.stubEnv("AGENT_NAME", "from-process-env");
    vi.stubEnv("SERVICE_URLS", '{"arm":"arm"}');
    vi.stubEnv("COMMUNICATOR_TYPE", "");
    vi.stubEnv("COMMUNICATOR_OPTIONS", "");
    vi.stubEnv("MQTT_URL", "");
    expect(agentConfigFromEnv({ name: "ignored" })).toEqual({ name: "from-process-env", communicatorType: "mqtt", communicatorOptions: {}, serviceUrls: { arm: "arm" } });
  });

  it("names the variable that is not valid JSON", () => {
    const error = thrown(() => agentConfigFromEnv(defaults, { SERVICE_URLS: "{arm: plant1/arm}" }));
    expect(error).toBeInstanceOf(ConfigurationError);
    // The rest is V8's JSON.parse message, which changes between Node versions.
    expect(error.message).toMatch(/^SERVICE_URLS is not valid JSON: /);
    expect((error as ConfigurationError).details).toEqual({ SERVICE_URLS: "{arm: plant1/arm}" });
    expect(thrown(() => agentConfigFromEnv(defaults, { COMMUNICATOR_OPTIONS: "qos=1" })).message).toMatch(/^COMMUNICATOR_OPTIONS is not valid JSON: /);
  });

  it("names the variable that is JSON but not an object", () => {
    expect(thrown(() => agentConfigFromEnv(defaults, { COMMUNICATOR_OPTIONS: "[1, 2]" })).message).toMatchInlineSnapshot(
      `"COMMUNICATOR_OPTIONS must be a JSON object, got [1, 2]"`,
    );
    expect(thrown(() => agentConfigFromEnv(defaults, { SERVICE_URLS: "null" })).message).toMatchInlineSnapshot(`"SERVICE_URLS must be a JSON object, got null"`);
  });

  it("validates what the variables produce", () => {
    const error = thrown(() => agentConfigFromEnv(defaults, { AGENT_NAME: "bad+name", SERVICE_URLS: '{"arm":"plant/#"}' }));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toMatchInlineSnapshot(
      `"Invalid agent config: name: agent name "bad+name" must not contain the MQTT wildcard "+"; serviceUrls.arm: topic prefix "plant/#" must not contain the MQTT wildcard "#""`,
    );
  });
});

describe("agent lifecycle on the memory communicator", () => {
  let bus: MemoryBus;
  let events: string[];
  const agents: BaseAgent[] = [];

  const config = (name: string, extra: Partial<AgentConfigInput> = {}): AgentConfigInput => ({
    name,
    communicatorType: "recording-memory",
    communicatorOptions: { bus, record: (event: string) => events.push(event) },
    ...extra,
  });
  const track = <A extends BaseAgent>(agent: A): A => {
    agents.push(agent);
    return agent;
  };

  beforeEach(() => {
    bus = new MemoryBus();
    events = [];
  });

  afterEach(async () => {
    await Promise.all(agents.splice(0).map((agent) => agent.stop()));
  });

  it("runs setup → communicator start → run, and shutdown → communicator stop", async () => {
    const agent = track(new RecordingAgent(config("ordered"), events));
    await agent.start();
    expect(events).toEqual(["setup (started: false)", "communicator started", "run (started: true)"]);
    await agent.stop();
    expect(events).toEqual(["setup (started: false)", "communicator started", "run (started: true)", "shutdown (started: true)", "communicator stop"]);
    expect(agent.started).toBe(false);
  });

  it("resolves start() once run() has returned", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const runEntered = new Promise<void>((resolve) => (entered = resolve));
    class Slow extends BaseAgent {
      protected override async run(): Promise<void> {
        entered();
        await gate;
      }
    }
    const agent = track(new Slow(config("slow-runner"), { logger: recordingLogger() }));
    let resolved = false;
    const starting = agent.start().then(() => (resolved = true));
    await runEntered;
    expect(resolved).toBe(false);
    release();
    await starting;
    expect(resolved).toBe(true);
  });

  it("serves requests with the handlers registered in setup, also after run() returned", async () => {
    class Calculator extends BaseAgent {
      protected override async setup(): Promise<void> {
        this.communicator.registerHandler<{ a: number; b: number }>("add", ({ a, b }) => a + b);
      }
    }
    const server = track(new Calculator(config("calc"), { logger: recordingLogger() }));
    const client = track(new BaseAgent(config("user", { serviceUrls: { calc: "calc" } }), { logger: recordingLogger() }));
    await server.start();
    await client.start();
    await expect(client.communicator.sendRequest("calc", "add", { a: 40, b: 2 })).resolves.toBe(42);
  });

  it("has no communicator before start()", () => {
    const agent = new BaseAgent(config("early"), { logger: recordingLogger() });
    const error = thrown(() => agent.communicator);
    expect(error).toBeInstanceOf(CommunicationError);
    expect(error.message).toMatchInlineSnapshot(`"Agent early has no communicator before start()"`);
  });

  it("rejects a second start(), while starting and once running", async () => {
    const agent = track(new RecordingAgent(config("twice"), events));
    const first = agent.start();
    const whileStarting = await failure(agent.start());
    expect(whileStarting).toBeInstanceOf(CommunicationError);
    expect(whileStarting.message).toMatchInlineSnapshot(`"Agent twice cannot start: it is starting"`);
    await first;
    const whileRunning = await failure(agent.start());
    expect(whileRunning.message).toMatchInlineSnapshot(`"Agent twice cannot start: it is running"`);
    expect(events.filter((event) => event.startsWith("setup"))).toHaveLength(1);
    await agent.stop();
    expect((await failure(agent.start())).message).toMatchInlineSnapshot(`"Agent twice cannot start: it is stopped"`);
  });

  it("makes stop() idempotent", async () => {
    const agent = track(new RecordingAgent(config("stopper"), events));
    await agent.start();
    await agent.stop();
    await agent.stop();
    expect(events.filter((event) => event.startsWith("shutdown"))).toHaveLength(1);
    expect(events.filter((event) => event === "communicator stop")).toHaveLength(1);
  });

  it("lets stop() before start() end the agent without running any hook", async () => {
    const agent = new RecordingAgent(config("never-started"), events);
    await agent.stop();
    await agent.stop();
    expect((await failure(agent.start())).message).toMatchInlineSnapshot(`"Agent never-started cannot start: it is stopped"`);
    expect(events).toEqual([]);
  });

  it("stops the agent when run() fails, and concurrent stop() calls wait for the same stop", async () => {
    const boom = new Error("run failed");
    class Failing extends RecordingAgent {
      protected override async run(): Promise<void> {
        await super.run();
        throw boom;
      }
    }
    const agent = new Failing(config("broken-run"), events);
    await expect(agent.start()).rejects.toBe(boom);
    expect(events).toEqual(["setup (started: false)", "communicator started", "run (started: true)", "shutdown (started: true)", "communicator stop"]);
    expect(agent.started).toBe(false);

    const other = track(new RecordingAgent(config("double-stop"), events));
    await other.start();
    events.length = 0;
    const first = other.stop();
    const second = other.stop();
    expect(second).toBe(first);
    await second;
    expect(events).toEqual(["shutdown (started: true)", "communicator stop"]);
  });

  it("undoes setup() and stops the communicator again when setup() fails, and does not run", async () => {
    const boom = new Error("setup failed");
    class Broken extends RecordingAgent {
      protected override async setup(): Promise<void> {
        await super.setup();
        throw boom;
      }
    }
    const agent = new Broken(config("broken-setup"), events);
    await expect(agent.start()).rejects.toBe(boom);
    expect(events).toEqual(["setup (started: false)", "shutdown (started: false)", "communicator stop"]);
    await agent.stop();
    expect(events).toEqual(["setup (started: false)", "shutdown (started: false)", "communicator stop"]);
  });
});

describe("an agent whose communicator cannot start", () => {
  it("rejects start() with CommunicationError and runs nothing further (closed port)", async () => {
    const port = await freePort();
    const events: string[] = [];
    const agent = new RecordingAgent({ name: "lonely", communicatorOptions: { url: `mqtt://127.0.0.1:${port}`, connectTimeoutMs: 500 } }, events);
    const startedAt = Date.now();
    const error = await failure(agent.start());
    expect(Date.now() - startedAt).toBeLessThan(5_000);
    expect(error).toBeInstanceOf(CommunicationError);
    expect(error).not.toBeInstanceOf(ConfigurationError);
    expect(error.message.replaceAll(String(port), "<port>")).toMatchInlineSnapshot(
      `"Could not connect to mqtt://127.0.0.1:<port> within 500 ms: connect ECONNREFUSED 127.0.0.1:<port>"`,
    );
    expect(events).toEqual(["setup (started: false)", "shutdown (started: false)"]);
    expect(agent.started).toBe(false);
    await expect(agent.communicator.sendRequest("anyone", "x")).rejects.toThrow(/is stopped, not started/);
    await agent.stop();
    expect((await failure(agent.start())).message).toMatchInlineSnapshot(`"Agent lonely cannot start: it is stopped"`);
  });

  it("leaves no client retrying behind", async () => {
    // A port that accepts TCP and hangs up at once: mqtt.js retries every reconnectPeriodMs until
    // start() gives up. After that, no further connection may arrive.
    const sockets = new Set<Socket>();
    let connections = 0;
    const server = createServer((socket) => {
      connections++;
      sockets.add(socket);
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    try {
      const agent = new BaseAgent(
        { name: "retrier", communicatorOptions: { url: `mqtt://127.0.0.1:${port}`, connectTimeoutMs: 500, reconnectPeriodMs: 20 } },
        { logger: recordingLogger() },
      );
      const error = await failure(agent.start());
      expect(error).toBeInstanceOf(CommunicationError);
      expect(error.message).toMatch(/^Could not connect to mqtt:\/\/127\.0\.0\.1:\d+ within 500 ms/);
      expect(connections).toBeGreaterThan(1); // it did retry while start() was waiting
      const afterFailure = connections;
      // An absence can only be observed over time: ten reconnect periods. A client still retrying
      // would connect ~10 more times; at most one attempt may land late, a TCP handshake that was
      // already under way when start() gave up (the kernel completes it before the socket is destroyed).
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(connections - afterFailure).toBeLessThanOrEqual(1);
      await agent.stop();
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe.each(brokers)("agents over MQTT on %s", (_name, start) => {
  let broker: TestBroker;

  beforeEach(async () => {
    broker = await start();
  });

  afterEach(async () => {
    await broker.close();
  });

  it("serve and call each other through their communicators", async () => {
    const notes: unknown[] = [];
    let noted!: () => void;
    const notified = new Promise<void>((resolve) => (noted = resolve));
    class Arm extends BaseAgent {
      protected override async setup(): Promise<void> {
        this.communicator.registerHandler<{ x: number; y: number }>("move", ({ x, y }) => ({ at: [x, y] }));
        this.communicator.registerHandler("note", (params) => {
          notes.push(params);
          noted();
        });
      }
    }
    const arm = new Arm({ name: "arm", communicatorOptions: broker.options({ topicPrefix: "plant1/arm" }) }, { logger: recordingLogger() });
    const planner = new BaseAgent({ name: "planner", serviceUrls: { arm: "plant1/arm" }, communicatorOptions: broker.options() }, { logger: recordingLogger() });
    await arm.start();
    await planner.start();
    try {
      expect(planner.communicator).toBeInstanceOf(MqttCommunicator);
      await expect(planner.communicator.sendRequest("arm", "move", { x: 1, y: 2 })).resolves.toEqual({ at: [1, 2] });
      await planner.communicator.sendNotification("arm", "note", { text: "done" });
      await notified;
      expect(notes).toEqual([{ text: "done" }]);
    } finally {
      await planner.stop();
      await arm.stop();
    }
    await expect(planner.communicator.sendRequest("arm", "move", { x: 0, y: 0 })).rejects.toThrow(/is stopped, not started/);
  });
});
