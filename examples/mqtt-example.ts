/**
 * The OpenMAS MQTT example, in TypeScript.
 *
 *   npm run example                          # on an embedded broker, nothing to install
 *   npm run example -- --url mqtt://host:1883  # against any broker
 *   npm run example -- --serve [--url …]     # serve until SIGINT/SIGTERM
 *   npm run example -- --url mqtts://host:8883 --ca ca.pem --username u   # MQTT_PASSWORD=… in the environment
 */
import { parseArgs } from "node:util";
import { ExampleServiceClient, registerExampleService } from "../generated/index.js";
import { BaseAgent, connectionFlagOptions, connectionOptionsFromFlags, startBroker, type EmbeddedBroker } from "mqtt-contracts";

class MqttExampleAgent extends BaseAgent {
  readonly logged: string[] = [];
  private logHandled: (() => void) | undefined;

  /** Serve the example contract (contracts/example.ts); codegen typed the handlers and validates both ends. */
  protected override async setup(): Promise<void> {
    registerExampleService(this.communicator, {
      get_status: () => ({ status: "running", agent_name: this.name }),
      echo: ({ message }) => ({ original: message, echo: message }),
      log: ({ message }) => {
        this.logged.push(message);
        console.log(`[${this.name}] log notification handled: ${message}`);
        this.logHandled?.();
      },
    });
  }

  /** Call our own handlers through `serviceUrls.test_agent`, as the Python example does, with the generated client. */
  async callSelf(): Promise<void> {
    const testAgent = new ExampleServiceClient(this.communicator, "test_agent");
    const status = await testAgent.get_status();
    console.log("get_status ->", JSON.stringify(status));
    const echo = await testAgent.echo({ message: "Hello from mqtt-contracts!" });
    console.log("echo ->", JSON.stringify(echo));
    const handled = new Promise<void>((resolve) => (this.logHandled = resolve));
    await testAgent.log({ message: "notification from the example" });
    await withTimeout(handled, 5_000, "the log notification was not handled within 5 s");
  }
}

async function main(): Promise<number> {
  // The CLI's connection flags too: --username, --password, --ca, --cert, --key, --insecure, --protocol.
  const { values } = parseArgs({
    options: { url: { type: "string" }, serve: { type: "boolean", default: false }, ...connectionFlagOptions },
    strict: true,
  });
  let broker: EmbeddedBroker | undefined;
  const url = values.url ?? process.env.MQTT_URL ?? (broker = await startBroker()).url;
  if (broker) console.log(`Embedded broker on ${broker.url}`);

  const agent = new MqttExampleAgent({
    name: "mqtt_example_agent",
    communicatorType: "mqtt",
    communicatorOptions: { ...connectionOptionsFromFlags(values), url },
    serviceUrls: { test_agent: "mqtt_example_agent" },
  });
  await agent.start();
  try {
    if (values.serve) {
      console.log(`mqtt_example_agent serving on ${url} (topic prefix mqtt_example_agent); Ctrl-C to stop`);
      const signal = await new Promise<string>((resolve) => {
        process.once("SIGINT", () => resolve("SIGINT"));
        process.once("SIGTERM", () => resolve("SIGTERM"));
      });
      console.log(`${signal} received; stopping`);
    } else {
      await agent.callSelf();
    }
  } finally {
    await agent.stop();
    await broker?.close();
  }
  console.log("mqtt_example_agent stopped cleanly");
  return 0;
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
    process.exit(1);
  },
);
