// The README's "Joining an OpenMAS system" snippet; test/docs.test.ts runs this file. Here every agent is
// TypeScript, on an embedded broker; in a real system the planner and the logger would be Python agents.
import { MqttCommunicator, MethodNotFoundError, startBroker } from "mqtt-contracts";

const broker = await startBroker();
const url = broker.url;

// #region serve
// Serves Python agents on both of OpenMAS's MQTT communicators: the built-in one publishes to
// openmas/planner/request/<method>, the MQTT example's to planner/request/<method> (JSON-RPC).
const planner = new MqttCommunicator({ agentName: "planner", options: { url, wireFormat: "openmas" } });
planner.registerHandler("plan", ({ goal }: { goal: string }) => ({ steps: [`reach ${goal}`] }));
await planner.start();
// #endregion serve

const logger = new MqttCommunicator({ agentName: "logger", options: { url } }); // a JSON-RPC peer
logger.registerHandler("ping", () => "pong");
await logger.start();

// #region call
// Calls one agent in each format. In the built-in format a service is addressed by its name (the
// serviceUrls key is the agent's name; its value is not used); in the JSON-RPC one by its topic prefix.
const agent = new MqttCommunicator({
  agentName: "ts_agent",
  serviceUrls: { planner: "planner", logger: "logger" },
  options: { url, serviceWireFormats: { planner: "openmas" } },
});
await agent.start();
console.log(await agent.sendRequest("planner", "plan", { goal: "the dock" })); // { steps: [ 'reach the dock' ] }
console.log(await agent.sendRequest("logger", "ping")); // pong
await agent.sendRequest("planner", "fly").catch((error: unknown) => {
  if (error instanceof MethodNotFoundError) console.log(`${error.message} (OpenMAS code 404)`); // Method not found: fly
});
// #endregion call

await agent.stop();
await logger.stop();
await planner.stop();
await broker.close();
