import { Aedes } from "aedes";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { onTestFinished } from "vitest";
import { inProcessStream } from "../../src/broker/in-process-stream.js";
import { startBroker, type MqttCommunicatorOptions } from "mqtt-contracts";
import { startMosquitto, type Mosquitto } from "./mosquitto.js";

/** A broker a test runs against: aedes in-process, or a real Mosquitto on a free port. */
export interface TestBroker {
  readonly name: "aedes" | "mosquitto";
  /** `communicatorOptions` that reach this broker. */
  options(extra?: MqttCommunicatorOptions): MqttCommunicatorOptions;
  /** A raw mqtt.js client connected to this broker, for speaking to services as a foreign peer. */
  rawClient(options?: IClientOptions): Promise<MqttClient>;
  close(): Promise<void>;
}

/** aedes in the test process, reached over `stream.duplexPair()`: no port at all. */
export async function startAedesInProcess(): Promise<TestBroker> {
  const aedes = await Aedes.createBroker();
  const connectStream = () => inProcessStream(aedes.handle);
  const clients: MqttClient[] = [];
  return {
    name: "aedes",
    options: (extra = {}) => ({ streamBuilder: connectStream, ...extra }),
    async rawClient(options = {}) {
      const client = new mqtt.MqttClient(connectStream as () => any, { protocolVersion: 4, reconnectPeriod: 0, ...options });
      clients.push(client);
      await new Promise<void>((resolve, reject) => {
        client.once("connect", () => resolve());
        client.once("error", reject);
      });
      return client;
    },
    async close() {
      await Promise.all(clients.map((client) => client.endAsync(true)));
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
    },
  };
}

export async function startMosquittoBroker(): Promise<TestBroker & { mosquitto: Mosquitto }> {
  const mosquitto = await startMosquitto();
  const clients: MqttClient[] = [];
  return {
    name: "mosquitto",
    mosquitto,
    options: (extra = {}) => ({ url: mosquitto.url, ...extra }),
    async rawClient(options = {}) {
      const client = await mqtt.connectAsync(mosquitto.url, { reconnectPeriod: 0, ...options });
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.all(clients.map((client) => client.endAsync(true)));
      await mosquitto.close();
    },
  };
}

/** For `describe.each`: every test that must hold on both brokers runs once per entry. */
export const brokers = [
  ["aedes", startAedesInProcess],
  ["mosquitto", startMosquittoBroker],
] as const;

/** A broker reached over TCP, as child processes (the CLI, a Python agent, a group's instances) need one. */
export interface TcpBroker {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** For `describe.each` over TCP: the embedded broker and Mosquitto, each started on a free port. */
export const tcpBrokers: [name: string, start: () => Promise<TcpBroker>][] = [
  ["the embedded broker", () => startBroker()],
  ["Mosquitto", () => startMosquitto()],
];

/** A broker that browsers reach over WebSocket (`wsUrl`) and everything else over TCP (`url`). */
export interface WsBroker extends TcpBroker {
  readonly wsUrl: string;
}

/** For `describe.each` over WebSocket: the embedded broker with `wsPort`, and Mosquitto with a websockets listener. */
export const wsBrokers: [name: string, start: () => Promise<WsBroker>][] = [
  ["the embedded broker", async () => withWsUrl(await startBroker({ wsPort: 0 }))],
  ["Mosquitto", async () => withWsUrl(await startMosquitto({ websockets: true }))],
];

function withWsUrl<B extends TcpBroker & { wsUrl: string | undefined }>(broker: B): B & WsBroker {
  if (broker.wsUrl === undefined) throw new Error("the broker has no WebSocket listener");
  return broker as B & WsBroker;
}

/**
 * A broker of any kind the suite uses (`startAedesInProcess`, `startMosquittoBroker`, `startBroker`,
 * `startMosquitto`, `startRabbitMq`, `startNatsCluster`, …), started for the current test (call it in the
 * test or a `beforeEach`) and closed when the test ends: after the communicators made on it since with
 * ./communicators.js have stopped, since `onTestFinished` hooks run last registered first.
 */
export async function brokerForTest<B extends { close(): Promise<void> }>(start: () => Promise<B>): Promise<B> {
  const broker = await start();
  onTestFinished(() => broker.close());
  return broker;
}
