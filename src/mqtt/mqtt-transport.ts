import mqtt, { type IClientOptions, type IClientPublishOptions, type MqttClient } from "mqtt";
import { CommunicationError } from "../errors/errors.js";
import type { Logger } from "../logger.js";
import type { MessageSink, PublishProperties, PublishTicket, Transport } from "../communicator/transport.js";
import type { ResolvedMqttOptions } from "./mqtt-options.js";
import { PacketStore } from "./packet-store.js";

/** How long `close()` waits for in-flight packets before it drops the connection. */
const CLOSE_FLUSH_MS = 2_000;

/**
 * A publish still unacknowledged when this many connections in a row were lost is dropped instead of
 * replayed again: the broker is most likely refusing it by disconnecting us.
 */
const REPLAY_LIMIT = 2;

/** CONNACK codes that mean the broker does not speak MQTT 5 (3.1.1 code 1, MQTT 5 reason 132). */
const PROTOCOL_REFUSED = new Set([1, 132]);

const CONNACK_REASONS: Record<number, string> = {
  1: "unacceptable protocol version",
  2: "client identifier rejected",
  3: "server unavailable",
  4: "bad user name or password",
  5: "not authorized",
  132: "unsupported protocol version",
  133: "client identifier not valid",
  134: "bad user name or password",
  135: "not authorized",
  136: "server unavailable",
  137: "server busy",
  138: "banned",
};

/** The broker address for messages, without credentials. */
export function describeBroker(options: ResolvedMqttOptions): string {
  if (options.streamBuilder) return "the in-process broker";
  if (options.url) {
    const url = new URL(options.url);
    url.username = "";
    url.password = "";
    return url.toString().replace(/\/$/, "");
  }
  return `mqtt://${options.brokerHost}:${options.brokerPort}`;
}

function noLog(): void {}

/** Connect and return a transport; with `protocolVersion: "auto"`, fall back to 3.1.1 when MQTT 5 is refused. */
export async function connectMqttTransport(options: ResolvedMqttOptions, clientId: string, sink: MessageSink, logger: Logger): Promise<MqttTransport> {
  const versions: (4 | 5)[] = options.protocolVersion === "auto" ? [5, 4] : [options.protocolVersion];
  const deadline = Date.now() + options.connectTimeoutMs;
  for (const version of versions) {
    try {
      const client = await connectOnce(options, clientId, version, deadline);
      return new MqttTransport(client, options, sink, logger);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (version === 5 && versions.length > 1 && typeof code === "number" && PROTOCOL_REFUSED.has(code)) {
        logger.debug(`${describeBroker(options)} refused MQTT 5 (code ${code}); falling back to MQTT 3.1.1`);
        continue;
      }
      throw error;
    }
  }
  throw new CommunicationError(`Could not connect to ${describeBroker(options)}`);
}

function connectOnce(options: ResolvedMqttOptions, clientId: string, protocolVersion: 4 | 5, deadline: number): Promise<MqttClient> {
  const where = describeBroker(options);
  const timeoutMs = Math.max(1, deadline - Date.now());
  const clientOptions: IClientOptions = {
    clientId,
    protocolVersion,
    clean: true,
    keepalive: options.keepalive,
    reconnectPeriod: options.reconnectPeriodMs,
    connectTimeout: timeoutMs,
    resubscribe: true,
    outgoingStore: new PacketStore(),
    // Ping on a fixed beat (every keepalive) instead of re-arming mqtt.js's ping timer on every
    // acknowledgement received, a clearInterval and a setInterval per QoS 1 message.
    reschedulePings: false,
  };
  // mqtt.js calls its `debug` logger several times per packet even when it is off (an arguments
  // array each time); skip it unless DEBUG is set, so `DEBUG=mqttjs*` still shows mqtt.js's own log.
  if (!process.env.DEBUG) clientOptions.log = noLog;
  if (options.username !== undefined) clientOptions.username = options.username;
  if (options.password !== undefined) clientOptions.password = options.password;
  if (options.ca !== undefined) clientOptions.ca = options.ca;
  if (options.cert !== undefined) clientOptions.cert = options.cert;
  if (options.key !== undefined) clientOptions.key = options.key;
  if (options.rejectUnauthorized !== undefined) clientOptions.rejectUnauthorized = options.rejectUnauthorized;

  return new Promise((resolve, reject) => {
    let client: MqttClient;
    try {
      if (options.streamBuilder) {
        client = new mqtt.MqttClient(options.streamBuilder as () => any, clientOptions);
      } else if (options.url) {
        client = mqtt.connect(options.url, clientOptions);
      } else {
        client = mqtt.connect({ ...clientOptions, host: options.brokerHost, port: options.brokerPort, protocol: "mqtt" });
      }
    } catch (error) {
      reject(new CommunicationError(`Could not connect to ${where}: ${(error as Error).message}`, { target: where, cause: error }));
      return;
    }
    let lastError: Error | undefined;
    const cleanup = () => {
      clearTimeout(timer);
      client.off("connect", onConnect);
      client.off("error", onError);
    };
    const fail = (error: CommunicationError) => {
      cleanup();
      client.end(true);
      reject(error);
    };
    const onConnect = () => {
      cleanup();
      resolve(client);
    };
    const onError = (error: Error & { code?: unknown }) => {
      lastError = error;
      if (typeof error.code === "number") {
        // A CONNACK refusal: retrying will not help.
        const reason = CONNACK_REASONS[error.code] ?? error.message;
        const refused = new CommunicationError(`${where} refused the connection: ${reason} (code ${error.code})`, { target: where, cause: error });
        Object.assign(refused, { code: error.code });
        fail(refused);
      }
    };
    const timer = setTimeout(() => {
      const why = lastError ? `: ${lastError.message}` : "";
      fail(new CommunicationError(`Could not connect to ${where} within ${options.connectTimeoutMs} ms${why}`, { target: where, cause: lastError }));
    }, timeoutMs);
    client.on("connect", onConnect);
    client.on("error", onError);
  });
}

/**
 * Turn off Nagle's algorithm on the client's TCP (or TLS) socket; mqtt.js leaves it on. A handler
 * answers a few ticks after mqtt.js wrote the request's PUBACK, so the answer is a second small
 * write, which Nagle holds until the broker ACKs the first; with delayed ACKs that is ~40 ms per
 * message (measured: 88 ms per sequential call at QoS 1, 0.3 ms without).
 */
function disableNagle(client: MqttClient): void {
  const stream = client.stream as { setNoDelay?: (noDelay: boolean) => unknown } | undefined;
  stream?.setNoDelay?.(true);
}

/** mqtt.js behind the `Transport` interface. mqtt.js reconnects and resubscribes by itself. */
export class MqttTransport implements Transport {
  readonly supportsProperties: boolean;
  private readonly where: string;
  private closed = false;
  private corked = false;

  constructor(
    private readonly client: MqttClient,
    private readonly options: ResolvedMqttOptions,
    sink: MessageSink,
    private readonly logger: Logger,
  ) {
    this.supportsProperties = client.options.protocolVersion === 5;
    this.where = describeBroker(options);
    disableNagle(client);
    client.on("message", (topic, payload, packet) => {
      const properties = packet.properties;
      sink({
        topic,
        payload,
        responseTopic: properties?.responseTopic,
        correlationData: properties?.correlationData,
        messageExpiryInterval: properties?.messageExpiryInterval,
      });
    });
    client.on("error", (error) => logger.warn(`MQTT error from ${this.where}: ${error.message}`));
    client.on("offline", () => {
      if (!this.closed) logger.warn(`Lost the connection to ${this.where}; reconnecting every ${options.reconnectPeriodMs} ms`);
    });
    client.on("connect", () => {
      disableNagle(client);
      logger.info(`Reconnected to ${this.where}`);
    });
    // Before mqtt.js's own listener clears `connected`: only a connection that got its CONNACK counts
    // (failed attempts sent nothing). mqtt.js replays its store before it emits "connect", so a replay
    // the broker refuses never reaches "connect" at all.
    client.prependListener("close", () => {
      if (client.connected && !this.closed) this.dropRepeatOffenders();
    });
  }

  /** Withdraw publishes that were in flight at `REPLAY_LIMIT` lost connections in a row; their senders get an error. */
  private dropRepeatOffenders(): void {
    const store = this.client.outgoingStore;
    if (!(store instanceof PacketStore)) return;
    for (const { messageId, topic } of store.strike(REPLAY_LIMIT)) {
      this.logger.warn(`Dropped a publish to ${topic}: it was in flight each time the last ${REPLAY_LIMIT} connections to ${this.where} were lost, so the broker is likely refusing it`);
      this.client.removeOutgoingMessage(messageId);
    }
  }

  /**
   * Keep the socket corked until the end of this event-loop turn. mqtt.js flushes each packet on the
   * next tick, so a PUBACK and the answer a handler produces a few microtasks later would be two
   * writes (two syscalls, two TCP segments); held together, everything written while handling one
   * read of the socket goes out in one write. The RPC core decides when (see `BaseCommunicator`).
   */
  holdWrites(): void {
    if (this.corked) return;
    const stream = this.client.stream as { cork?: () => void; uncork?: () => void } | undefined;
    if (typeof stream?.cork !== "function" || typeof stream.uncork !== "function") return;
    stream.cork();
    this.corked = true;
    setImmediate(() => {
      this.corked = false;
      stream.uncork!();
    });
  }

  /** The MQTT protocol version in use: 5 or 4 (3.1.1). */
  get protocolVersion(): number {
    return this.client.options.protocolVersion ?? 4;
  }

  async subscribe(filters: readonly string[]): Promise<void> {
    const grants = await this.client.subscribeAsync([...filters], { qos: this.options.qos });
    const refused = grants.filter((grant) => grant.qos >= 128);
    if (refused.length > 0) {
      throw new CommunicationError(`${this.where} refused the subscription to ${refused.map((grant) => grant.topic).join(", ")}`, { target: this.where });
    }
  }

  publish(topic: string, payload: string, properties?: PublishProperties, ticket?: PublishTicket): Promise<void> {
    const options: IClientPublishOptions = { qos: this.options.qos };
    // The fields are mqtt.js's own property names; correlation data is a Buffer from the runtime or from mqtt.js.
    if (properties && this.supportsProperties) options.properties = properties as IClientPublishOptions["properties"];
    const store = this.client.outgoingStore;
    // mqtt.js gives a QoS 1 publish its packet id when it stores it, also while offline: note it on the ticket.
    if (ticket && store instanceof PacketStore) options.cbStorePut = () => (ticket.packetId = store.lastPutId);
    return new Promise((resolve, reject) => {
      this.client.publish(topic, payload, options, (error) => {
        // Acknowledged (or failed): the id is mqtt.js's to reuse from now on.
        if (ticket) ticket.packetId = undefined;
        if (error) reject(error);
        else resolve();
      });
    });
  }

  /** Remove an unacknowledged publish from mqtt.js's store (and offline queue): it is not sent, or not again. */
  withdraw(ticket: PublishTicket): void {
    const packetId = ticket.packetId;
    ticket.packetId = undefined;
    if (packetId !== undefined) this.client.removeOutgoingMessage(packetId);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    const flushed = this.client.endAsync(false);
    const timedOut = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), CLOSE_FLUSH_MS)));
    if ((await Promise.race([flushed, timedOut])) === "timeout") await this.client.endAsync(true);
    clearTimeout(timer);
  }
}
