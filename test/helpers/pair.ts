import { MqttCommunicator, type MqttCommunicatorOptions } from "mqtt-contracts";
import type { TestBroker } from "./brokers.js";
import { recordingLogger } from "./recording-logger.js";

/** A server `svc` and a client that knows it as `svc`, both on `broker`, with recording loggers. */
export function communicatorPair(broker: TestBroker, serverOptions: MqttCommunicatorOptions = {}, clientOptions: MqttCommunicatorOptions = {}) {
  const serverLog = recordingLogger();
  const clientLog = recordingLogger();
  const server = new MqttCommunicator({ agentName: "svc", options: broker.options(serverOptions), logger: serverLog });
  const client = new MqttCommunicator({ agentName: "caller", serviceUrls: { svc: "svc" }, options: broker.options(clientOptions), logger: clientLog });
  return { server, client, serverLog, clientLog };
}
