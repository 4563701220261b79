/**
 * Communicators made for one test and stopped when it ends, so that tests say what they check, not how
 * they tear down. Call these in a test or a `beforeEach`: each registers `onTestFinished(stop)`. Those
 * hooks run after `afterEach`, last registered first; so a broker meant to outlive the communicators made
 * on it is closed in `afterAll`, or comes from `brokerForTest` (registered before them, closed after them).
 * `stop()` is idempotent: a test about stopping may still call it itself.
 */
import { onTestFinished } from "vitest";
import { MqttCommunicator, type Handler, type Logger, type MqttCommunicatorOptions } from "mqtt-contracts";
import type { TestBroker } from "./brokers.js";
import { recordingLogger } from "./recording-logger.js";

/** A broker to connect to: a `TestBroker` (aedes in-process, Mosquitto), or the URL of any other (embedded, NATS, RabbitMQ). */
export type BrokerRef = Pick<TestBroker, "options"> | string;

export interface CommunicatorSpec {
  agentName: string;
  serviceUrls?: Record<string, string>;
  /** Added to the options that reach the broker. */
  options?: MqttCommunicatorOptions;
  /** Default: a new `recordingLogger()`. */
  logger?: Logger;
}

/** The communicator options that reach `broker`, with `extra` added. */
export function optionsOn(broker: BrokerRef, extra: MqttCommunicatorOptions = {}): MqttCommunicatorOptions {
  return typeof broker === "string" ? { url: broker, ...extra } : broker.options(extra);
}

/** A communicator on `broker`, not started; stopped when the test ends. */
export function communicator(broker: BrokerRef, spec: CommunicatorSpec): MqttCommunicator {
  const made = new MqttCommunicator({ agentName: spec.agentName, serviceUrls: spec.serviceUrls, options: optionsOn(broker, spec.options), logger: spec.logger ?? recordingLogger() });
  onTestFinished(() => made.stop());
  return made;
}

/** Handlers by method name, registered before the communicator starts. */
export type Handlers = Record<string, Handler<any, unknown>>;

/** `communicator(broker, spec)` with `handlers` registered, started; stopped when the test ends. */
export async function started(broker: BrokerRef, spec: CommunicatorSpec, handlers: Handlers = {}): Promise<MqttCommunicator> {
  const made = communicator(broker, spec);
  for (const [method, handler] of Object.entries(handlers)) made.registerHandler(method, handler);
  await made.start();
  return made;
}

export interface PairSpec {
  /** The server's agent name, and the service name the client knows it by. Default `svc`. */
  serverName?: string;
  /** Options of the server and of the client (`caller`), added to those that reach the broker. */
  server?: MqttCommunicatorOptions;
  client?: MqttCommunicatorOptions;
  /** Registered on the server before it starts (`startedPair` only). */
  handlers?: Handlers;
}

/**
 * A server (`svc`) and a client (`caller`) that knows it by that name, both on `broker`, with recording
 * loggers; not started. Stopped when the test ends, the client first.
 */
export function communicatorPair(broker: BrokerRef, spec: PairSpec = {}) {
  const serverName = spec.serverName ?? "svc";
  const serverLog = recordingLogger();
  const clientLog = recordingLogger();
  const server = communicator(broker, { agentName: serverName, options: spec.server, logger: serverLog });
  const client = communicator(broker, { agentName: "caller", serviceUrls: { [serverName]: serverName }, options: spec.client, logger: clientLog });
  return { server, client, serverLog, clientLog };
}

/** `communicatorPair` with `spec.handlers` registered on the server, then the server started, then the client. */
export async function startedPair(broker: BrokerRef, spec: PairSpec = {}) {
  const pair = communicatorPair(broker, spec);
  for (const [method, handler] of Object.entries(spec.handlers ?? {})) pair.server.registerHandler(method, handler);
  await pair.server.start();
  await pair.client.start();
  return pair;
}
