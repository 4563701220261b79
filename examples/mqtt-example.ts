/**
 * The OpenMAS MQTT example, in TypeScript.
 *
 *   npm run example                          # on an embedded broker, nothing to install
 *   npm run example -- --url mqtt://host:1883  # against any broker
 *   npm run example -- --serve [--url …]     # serve until SIGINT/SIGTERM
 *   npm run example -- --url mqtts://host:8883 --ca ca.pem --username u   # MQTT_PASSWORD=… in the environment
 *
 * The configuration also comes from the standard variables (agentConfigFromEnv): AGENT_NAME,
 * SERVICE_URLS, COMMUNICATOR_OPTIONS and MQTT_URL, e.g. two instances sharing the work:
 *   COMMUNICATOR_OPTIONS='{"sharedGroup":"workers"}' npm run example -- --serve --url mqtt://localhost:1883
 * or serving Python OpenMAS agents on both of their MQTT communicators: the built-in one
 * (openmas/mqtt_example_agent/request/<method>) and the MQTT example's (mqtt_example_agent/request/...):
 *   COMMUNICATOR_OPTIONS='{"wireFormat":"openmas"}' npm run example -- --serve --url mqtt://localhost:1883
 */
import { parseArgs } from "node:util";
import { agentConfigFromEnv, connectionFlagOptions, connectionOptionsFromFlags, startBroker, type EmbeddedBroker } from "mqtt-contracts";
import { MqttExampleAgent } from "./example-agent.js";

async function main(): Promise<number> {
  // The CLI's connection flags too: --username, --password, --ca, --cert, --key, --insecure, --protocol.
  const { values } = parseArgs({
    options: { url: { type: "string" }, serve: { type: "boolean", default: false }, ...connectionFlagOptions },
    strict: true,
  });
  // AGENT_NAME, SERVICE_URLS, COMMUNICATOR_OPTIONS and MQTT_URL over these defaults; flags over both.
  const config = agentConfigFromEnv({ name: "mqtt_example_agent", communicatorType: "mqtt", communicatorOptions: connectionOptionsFromFlags(values) });
  const options = config.communicatorOptions as { url?: string; topicPrefix?: string; wireFormat?: string; openmasTopicPrefix?: string };
  if (values.url !== undefined) options.url = values.url;
  let broker: EmbeddedBroker | undefined;
  if (options.url === undefined) {
    broker = await startBroker();
    options.url = broker.url;
    console.log(`Embedded broker on ${broker.url}`);
  }
  const url = options.url;
  const prefix = options.topicPrefix ?? config.name;
  // The Python example calls itself through serviceUrls.test_agent; so does this one, unless told otherwise.
  // In OpenMAS's built-in format a service name is an agent name, so it calls itself by its own.
  const openmas = options.wireFormat === "openmas";
  const self = openmas ? config.name : "test_agent";
  const agent = new MqttExampleAgent({ ...config, serviceUrls: { [self]: prefix, ...config.serviceUrls } });
  await agent.start();
  try {
    if (values.serve) {
      const also = openmas ? ` and ${options.openmasTopicPrefix ?? "openmas"}/${config.name}/request/# (OpenMAS built-in format)` : "";
      console.log(`${config.name} serving on ${url} (topic prefix ${prefix}${also}); Ctrl-C to stop`);
      const signal = await new Promise<string>((resolve) => {
        process.once("SIGINT", () => resolve("SIGINT"));
        process.once("SIGTERM", () => resolve("SIGTERM"));
      });
      console.log(`${signal} received; stopping`);
    } else {
      await agent.callSelf(self);
    }
  } finally {
    await agent.stop();
    await broker?.close();
  }
  console.log(`${config.name} stopped cleanly`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
    process.exit(1);
  },
);
