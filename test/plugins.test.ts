import { fileURLToPath } from "node:url";
import type { MqttClient } from "mqtt";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import {
  BaseAgent,
  BaseCommunicator,
  MethodNotFoundError,
  communicatorOptionsSchema,
  instanceParts,
  parseCommunicatorOptions,
  type CommunicatorInit,
  type CommunicatorPartsFactory,
  type MessageSink,
  type Transport,
  ConfigurationError,
  MemoryBus,
  MemoryCommunicator,
  MqttCommunicator,
  communicatorTypes,
  createCommunicator,
  discoverCommunicators,
  getCommunicatorClass,
  hasCommunicator,
  registerCommunicator,
  type CommunicatorClass,
} from "mqtt-contracts";
import { recordingLogger } from "./helpers/recording-logger.js";
import { brokerForTest, startAedesInProcess, type TestBroker } from "./helpers/brokers.js";
import { communicator } from "./helpers/communicators.js";
import { failure, thrown } from "./helpers/failures.js";

// The registry is module-global: every test registers its own type names so none sees another's.

/** The fixture packages: test/fixtures/discovery/node_modules/… */
const fixtureDir = fileURLToPath(new URL("./fixtures/discovery", import.meta.url));
/** A project nested in it, with one plugin of its own; discovery also searches the parent's node_modules. */
const agentAppDir = fileURLToPath(new URL("./fixtures/discovery/agent-app", import.meta.url));

/** Module-level side effects of the fixture modules: how often each was imported. */
const imports = globalThis as unknown as {
  __loopbackImports?: number;
  __acmeEchoImports?: number;
  __brokenImports?: number;
  __agentPluginImports?: number;
};

class CustomCommunicator extends MemoryCommunicator {}

describe("the communicator registry", () => {
  // First in the file, while only the built-ins are registered, so the list in the message is stable.
  it("rejects an unknown type with a ConfigurationError that lists the available types", async () => {
    const error = await failure(getCommunicatorClass("carrier-pigeon"));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatchInlineSnapshot(`"Unknown communicator type "carrier-pigeon"; available: memory, mqtt"`);
    expect((error as ConfigurationError).details).toEqual({ type: "carrier-pigeon", available: ["memory", "mqtt"] });
  });

  it("has the built-ins mqtt and memory", async () => {
    expect(communicatorTypes()).toEqual(expect.arrayContaining(["memory", "mqtt"]));
    expect(hasCommunicator("mqtt")).toBe(true);
    expect(hasCommunicator("memory")).toBe(true);
    expect(hasCommunicator("carrier-pigeon")).toBe(false);
    await expect(getCommunicatorClass("mqtt")).resolves.toBe(MqttCommunicator);
    await expect(getCommunicatorClass("memory")).resolves.toBe(MemoryCommunicator);
  });

  it("registers a class", async () => {
    expect(hasCommunicator("custom-class")).toBe(false);
    registerCommunicator("custom-class", CustomCommunicator);
    expect(hasCommunicator("custom-class")).toBe(true);
    expect(communicatorTypes()).toContain("custom-class");
    await expect(getCommunicatorClass("custom-class")).resolves.toBe(CustomCommunicator);
    const communicator = await createCommunicator("custom-class", { agentName: "custom", options: { bus: new MemoryBus() } });
    expect(communicator).toBeInstanceOf(CustomCommunicator);
  });

  it("replaces a type that is registered again", async () => {
    class Second extends MemoryCommunicator {}
    registerCommunicator("replaced-type", CustomCommunicator);
    registerCommunicator("replaced-type", Second);
    await expect(getCommunicatorClass("replaced-type")).resolves.toBe(Second);
  });

  it("calls a lazy loader only on the first getCommunicatorClass, and only once", async () => {
    let calls = 0;
    registerCommunicator("lazy-loaded", async () => {
      calls++;
      return CustomCommunicator;
    });
    expect(hasCommunicator("lazy-loaded")).toBe(true);
    expect(calls).toBe(0);
    // Two callers at once share the one load.
    const [first, second] = await Promise.all([getCommunicatorClass("lazy-loaded"), getCommunicatorClass("lazy-loaded")]);
    expect(first).toBe(CustomCommunicator);
    expect(second).toBe(CustomCommunicator);
    await expect(getCommunicatorClass("lazy-loaded")).resolves.toBe(CustomCommunicator);
    expect(calls).toBe(1);
  });

  it("wraps a failing loader in a ConfigurationError and tries again next time", async () => {
    let calls = 0;
    const boom = new Error("module not found");
    registerCommunicator(
      "flaky-loader",
      async () => {
        calls++;
        if (calls === 1) throw boom;
        return CustomCommunicator;
      },
      "flaky-package",
    );
    const error = await failure(getCommunicatorClass("flaky-loader"));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatchInlineSnapshot(`"Cannot load communicator flaky-loader from flaky-package: module not found"`);
    expect((error as Error).cause).toBe(boom);
    await expect(getCommunicatorClass("flaky-loader")).resolves.toBe(CustomCommunicator);
    expect(calls).toBe(2);
  });

  it("rejects a loader that does not produce a communicator class", async () => {
    registerCommunicator("not-a-class", async () => ({ start() {} }) as unknown as CommunicatorClass);
    const error = await failure(getCommunicatorClass("not-a-class"));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatchInlineSnapshot(`"Cannot load communicator not-a-class from user: it did not load a communicator class (got object)"`);
  });

  it.each(["", "has space", "a/b", "plus+", "hash#", "-leading-dash", ".dot", "$SYS", "naïve"])("rejects the type name %j", (type) => {
    const error = thrown(() => registerCommunicator(type, CustomCommunicator));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain(JSON.stringify(type));
    expect(hasCommunicator(type)).toBe(false);
  });

  it("names the pattern a type must match, and refuses a source that is not a function", () => {
    expect((thrown(() => registerCommunicator("a/b", CustomCommunicator)) as Error).message).toMatchInlineSnapshot(
      `"Communicator type "a/b" must match /^[a-z0-9][a-z0-9_.-]*$/i"`,
    );
    expect((thrown(() => registerCommunicator(42 as unknown as string, CustomCommunicator)) as Error).message).toMatchInlineSnapshot(
      `"Communicator type 42 must match /^[a-z0-9][a-z0-9_.-]*$/i"`,
    );
    const error = thrown(() => registerCommunicator("no-source", "./module.js" as unknown as CommunicatorClass));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatchInlineSnapshot(`"Communicator no-source must be a class or a loader function, got string"`);
    expect(hasCommunicator("no-source")).toBe(false);
  });
});

// These tests run in order: the first import of each fixture module is what the laziness checks observe.
describe("discovery of communicator packages", () => {
  it("finds the declared communicators without importing them, and ignores malformed manifests with a warning", async () => {
    const logger = recordingLogger();
    const found = await discoverCommunicators({ cwd: fixtureDir, logger });

    // node_modules of every parent folder are searched too; only the fixtures' entries are ours.
    const ours = found.filter((entry) => entry.module.startsWith(fixtureDir)).sort((a, b) => a.type.localeCompare(b.type));
    expect(ours).toEqual([
      {
        type: "acme-echo",
        packageName: "@acme/mqtt-contracts-echo",
        module: `${fixtureDir}/node_modules/@acme/mqtt-contracts-echo/lib/echo.js`,
        exportName: "EchoCommunicator",
      },
      {
        type: "acme-missing",
        packageName: "@acme/mqtt-contracts-echo",
        module: `${fixtureDir}/node_modules/@acme/mqtt-contracts-echo/lib/echo.js`,
        exportName: "Missing",
      },
      {
        type: "loopback",
        packageName: "mqtt-contracts-loopback",
        module: `${fixtureDir}/node_modules/mqtt-contracts-loopback/loopback.js`,
        exportName: "default",
      },
    ]);
    expect(hasCommunicator("loopback")).toBe(true);
    expect(hasCommunicator("acme-echo")).toBe(true);
    expect(hasCommunicator("acme-escape")).toBe(false);
    // The nested project's plugin is below cwd, not in a node_modules above it.
    expect(hasCommunicator("agent-loopback")).toBe(false);

    expect(logger.lines.filter((line) => line.level === "warn").map((line) => line.message)).toMatchInlineSnapshot(`
      [
        "Ignoring communicator acme-escape of @acme/mqtt-contracts-echo: ../../outside.js is outside the package",
        "Ignoring "mqtt-contracts" in mqtt-contracts-broken: "communicators" must map type names to module paths",
      ]
    `);

    // Registered lazily: not one fixture module has run yet.
    expect(imports.__loopbackImports).toBeUndefined();
    expect(imports.__acmeEchoImports).toBeUndefined();
    expect(imports.__brokenImports).toBeUndefined();
  });

  it("imports a discovered module on the first getCommunicatorClass, once", async () => {
    await discoverCommunicators({ cwd: fixtureDir });
    expect(imports.__loopbackImports).toBeUndefined();

    const Loopback = await getCommunicatorClass("loopback");
    expect(imports.__loopbackImports).toBe(1);
    expect(Loopback.name).toBe("LoopbackCommunicator");
    expect((Loopback as unknown as { loaded?: boolean }).loaded).toBe(true);
    // The fixture imported "mqtt-contracts" and got this very runtime.
    expect(Loopback.prototype).toBeInstanceOf(MemoryCommunicator);

    await expect(getCommunicatorClass("loopback")).resolves.toBe(Loopback);
    expect(imports.__loopbackImports).toBe(1);
    // Another package's module is still not imported.
    expect(imports.__acmeEchoImports).toBeUndefined();
  });

  it("builds working communicators from the discovered class", async () => {
    const server = await createCommunicator("loopback", { agentName: "loop-server" });
    const client = await createCommunicator("loopback", { agentName: "loop-client", serviceUrls: { server: "loop-server" } });
    expect((server as unknown as { fromPlugin?: string }).fromPlugin).toBe("mqtt-contracts-loopback");
    server.registerHandler<{ text: string }>("shout", ({ text }) => text.toUpperCase());
    await server.start();
    await client.start();
    try {
      await expect(client.sendRequest("server", "shout", { text: "via the plugin's own bus" })).resolves.toBe("VIA THE PLUGIN'S OWN BUS");
    } finally {
      await client.stop();
      await server.stop();
    }
  });

  it("loads a named export of a scoped package (`#ExportName`)", async () => {
    expect(imports.__acmeEchoImports).toBeUndefined();
    const Echo = await getCommunicatorClass("acme-echo");
    expect(Echo.name).toBe("EchoCommunicator");
    expect(Echo.prototype).toBeInstanceOf(MemoryCommunicator);
    expect(imports.__acmeEchoImports).toBe(1);
  });

  it("rejects a declared export that does not exist", async () => {
    const error = await failure(getCommunicatorClass("acme-missing"));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message.replaceAll(fixtureDir, "<fixtures>")).toMatchInlineSnapshot(
      `"Cannot load communicator acme-missing from @acme/mqtt-contracts-echo: <fixtures>/node_modules/@acme/mqtt-contracts-echo/lib/echo.js has no export "Missing" that is a communicator class"`,
    );
  });

  it("never imports the module of a malformed manifest", async () => {
    expect(communicatorTypes().filter((type) => type.includes("broken"))).toEqual([]);
    expect(imports.__brokenImports).toBeUndefined();
  });

  it("lists the discovered types when a type is still unknown after discovery", async () => {
    const error = await failure(createCommunicator("still-unknown", { agentName: "nobody" }, { cwd: fixtureDir }));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).details).toMatchObject({ type: "still-unknown" });
    const available = ((error as ConfigurationError).details as { available: string[] }).available;
    expect(available).toEqual(expect.arrayContaining(["acme-echo", "loopback", "memory", "mqtt"]));
    expect((error as Error).message).toContain(`available: ${available.join(", ")}`);
  });

  it("lets a BaseAgent use a communicator type it finds among installed packages", async () => {
    expect(hasCommunicator("agent-loopback")).toBe(false);
    expect(imports.__agentPluginImports).toBeUndefined();
    const bus = new MemoryBus();
    let served = "";

    class Server extends BaseAgent {
      protected override async setup(): Promise<void> {
        this.communicator.registerHandler<{ who: string }>("greet", ({ who }) => `hello ${who}`);
      }
    }
    const server = new Server({ name: "plugged-server", communicatorType: "agent-loopback", communicatorOptions: { bus } }, { logger: recordingLogger(), discoveryCwd: agentAppDir });
    const client = new BaseAgent(
      { name: "plugged-client", communicatorType: "agent-loopback", communicatorOptions: { bus }, serviceUrls: { server: "plugged-server" } },
      { logger: recordingLogger(), discoveryCwd: agentAppDir },
    );
    await server.start();
    await client.start();
    try {
      expect(hasCommunicator("agent-loopback")).toBe(true);
      expect(imports.__agentPluginImports).toBe(1);
      expect((server.communicator as unknown as { fromPlugin?: string }).fromPlugin).toBe("mqtt-contracts-agent-plugin");
      expect((client.communicator as unknown as { fromPlugin?: string }).fromPlugin).toBe("mqtt-contracts-agent-plugin");
      const Plugin = await getCommunicatorClass("agent-loopback");
      expect((Plugin as unknown as { instances: number }).instances).toBe(2);
      served = await client.communicator.sendRequest<string>("server", "greet", { who: "plugin" });
    } finally {
      await client.stop();
      await server.stop();
    }
    expect(served).toBe("hello plugin");
  });
});

/** A plugin's own transport, as a plugin author would write one: mqtt.js by hand, QoS 1, no flow control. */
function handWrittenTransport(client: MqttClient, sink: MessageSink): Transport {
  client.on("message", (topic, payload) => sink({ topic, payload }));
  return {
    supportsProperties: false,
    subscribe: async (filters) => void (await client.subscribeAsync([...filters], { qos: 1 })),
    unsubscribe: async (filters) => void (await client.unsubscribeAsync([...filters])),
    publish: async (topic, payload) => void (await client.publishAsync(topic, payload, { qos: 1 })),
    publishRetained: async (topic, payload) => void (await client.publishAsync(topic, payload, { qos: 1, retain: true })),
    close: async () => void (await client.endAsync()),
  };
}

/** A communicator type from a plugin: `BaseCommunicator` over its own transport, options validated by the shared schema. */
class PluginCommunicator extends BaseCommunicator {
  constructor(
    init: CommunicatorInit,
    private readonly broker: TestBroker,
    parts?: CommunicatorPartsFactory,
  ) {
    super(init, parseCommunicatorOptions("plugin", init.agentName, communicatorOptionsSchema(), init.options), parts);
  }

  protected override async openTransport(sink: MessageSink): Promise<Transport> {
    return handWrittenTransport(await this.broker.rawClient(), sink);
  }
}

describe("a communicator type that extends BaseCommunicator", () => {
  it("gets discovery records, rpc.discover and rpc.stats with instanceParts, and answers an MqttCommunicator", async () => {
    const broker = await brokerForTest(startAedesInProcess);
    const server = new PluginCommunicator({ agentName: "plugged", logger: recordingLogger() }, broker, instanceParts);
    onTestFinished(() => server.stop());
    server.registerHandler("echo", (params) => params, { kind: "method", params: { type: "object" }, result: { type: "object" } });
    const client = communicator(broker, { agentName: "caller", serviceUrls: { plugged: "plugged" } });
    await server.start();
    await client.start();
    expect(await client.sendRequest("plugged", "echo", { a: 1 })).toEqual({ a: 1 });
    const document = await client.sendRequest<{ methods: { name: string }[] }>("plugged", "rpc.discover");
    expect(document.methods.map((method) => method.name)).toEqual(["echo"]);
    const stats = await client.sendRequest<{ methods: Record<string, { calls: number }> }>("plugged", "rpc.stats");
    expect(stats.methods.echo?.calls).toBe(1);
    await vi.waitFor(() => expect(client.liveInstances("plugged").map((record) => record.instance)).toEqual([server.clientId]));
  });

  it("is a lone instance without parts: no record, no rpc.discover, and a sharedGroup is refused by name", async () => {
    const broker = await brokerForTest(startAedesInProcess);
    expect(() => new PluginCommunicator({ agentName: "grouped", options: { sharedGroup: "g1" } }, broker)).toThrow(/sharedGroup "g1": grouped's communicator type has no instance groups/);
    expect(() => new PluginCommunicator({ agentName: "bad", options: { maxQueuedRequests: -1 } }, broker)).toThrow(ConfigurationError);
    const server = new PluginCommunicator({ agentName: "lone", logger: recordingLogger() }, broker);
    onTestFinished(() => server.stop());
    server.registerHandler("echo", (params) => params);
    const client = communicator(broker, { agentName: "caller", serviceUrls: { lone: "lone" } });
    await server.start();
    await client.start();
    expect(await client.sendRequest("lone", "echo", { b: 2 })).toEqual({ b: 2 });
    expect(await failure(client.sendRequest("lone", "rpc.discover"))).toBeInstanceOf(MethodNotFoundError);
    expect(server.liveInstances()).toEqual([]);
  });
});
