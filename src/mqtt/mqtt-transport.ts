import mqtt, { type IClientOptions, type IClientPublishOptions, type IConnackPacket, type MqttClient } from "mqtt";
import { DEFAULT_MAX_CONCURRENT_HANDLERS, DEFAULT_MAX_QUEUED_REQUESTS } from "../communicator/base-communicator.js";
import { CommunicationError } from "../errors/errors.js";
import type { Logger } from "../logger.js";
import type { InboundControl, InboundMessage, LastWill, MessageSink, PublishProperties, PublishTicket, Transport } from "../communicator/transport.js";
import { InboundFlow } from "./inbound-flow.js";
import type { ResolvedMqttOptions } from "./mqtt-options.js";
import { PacketStore } from "./packet-store.js";

/** How long `close()` waits for in-flight packets before it drops the connection. */
const CLOSE_FLUSH_MS = 2_000;

/**
 * A publish still unacknowledged when this many connections in a row were lost is dropped instead of
 * replayed again: the broker is most likely refusing it by disconnecting us.
 */
const REPLAY_LIMIT = 2;

/** How many refused topics are remembered (the oldest is forgotten first). */
const MAX_POISONED_TOPICS = 1_024;

/** Waits before subscriptions refused with the unspecified reason 128 are tried again. */
const SUBSCRIBE_RETRY_DELAYS_MS = [250, 1_000];

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

/** CONNACK refusals that may pass: the server is unavailable (3.1.1 code 3, MQTT 5 reason 136) or busy (137). */
const TRANSIENT_CONNACK = new Set([3, 136, 137]);

/** What to do about a CONNACK refusal. */
const CONNACK_HINTS: Record<number, string> = {
  4: ": check the username and password",
  5: ": the broker does not let this client connect",
  134: ": check the username and password",
  135: ": the broker does not let this client connect",
};

/** TLS failures no retry can fix: the certificate chain or name is wrong until someone changes the configuration. */
const TLS_FAILURES: Record<string, string> = {
  SELF_SIGNED_CERT_IN_CHAIN: "untrusted",
  DEPTH_ZERO_SELF_SIGNED_CERT: "untrusted",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "untrusted",
  UNABLE_TO_GET_ISSUER_CERT: "untrusted",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "untrusted",
  CERT_UNTRUSTED: "untrusted",
  CERT_SIGNATURE_FAILURE: "untrusted",
  CERT_HAS_EXPIRED: "expired",
  CERT_NOT_YET_VALID: "expired",
  ERR_TLS_CERT_ALTNAME_INVALID: "name",
};

/**
 * A connection error that retrying cannot fix, said with what to change; undefined for one worth
 * retrying until the connect timeout. A refused TCP connection (no broker listening yet) is retried
 * only when `waitForBroker` is true, as agents started before their broker want.
 */
function fatalConnectError(error: Error & { code?: unknown }, waitForBroker: boolean): string | undefined {
  const code = typeof error.code === "string" ? error.code : undefined;
  if (code === undefined) return undefined;
  switch (TLS_FAILURES[code]) {
    case "untrusted":
      return `the broker's TLS certificate is not trusted (${code}): give the CA that signed it as the ca option (the CLI's --ca), or for a test broker only, rejectUnauthorized: false (--insecure)`;
    case "expired":
      return `the broker's TLS certificate is not valid now (${code})`;
    case "name":
      return `the broker's TLS certificate is not for this host name (${code}): ${error.message}`;
  }
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return `the host name does not resolve (${code})`;
  if (code === "ERR_SSL_WRONG_VERSION_NUMBER" || code === "EPROTO") return `TLS failed (${code}): is this a TLS port (mqtts://) of the broker? ${error.message}`;
  if (code === "ECONNREFUSED" && !waitForBroker) return "nothing accepts connections there (ECONNREFUSED)";
  return undefined;
}

/** MQTT 5 reason codes a SUBACK or PUBACK may refuse with (3.1.1 has only 128). */
const FAILURE_REASONS: Record<number, string> = {
  128: "unspecified error",
  131: "implementation specific error",
  135: "not authorized",
  143: "topic filter invalid",
  144: "topic name invalid",
  145: "packet identifier in use",
  151: "quota exceeded",
  153: "payload format invalid",
  158: "shared subscriptions not supported",
  161: "subscription identifiers not supported",
  162: "wildcard subscriptions not supported",
};

function reasonName(code: number): string {
  return `reason code ${code}${FAILURE_REASONS[code] ? `, ${FAILURE_REASONS[code]}` : ""}`;
}

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
/** The MQTT session a connection asks for: see `sessionExpirySeconds`. */
export interface SessionRequest {
  /** 0: a clean session. */
  expirySeconds: number;
  /** Over MQTT 3.1.1 (no expiry) a session is kept only for a client id the user gave. */
  clientIdGiven: boolean;
}

const CLEAN_SESSION: SessionRequest = { expirySeconds: 0, clientIdGiven: false };

/**
 * What reads a client's messages: the sink, behind `InboundFlow` when the core asked for flow control. Set
 * up on the client before it connects, so that what a kept session delivers right after the CONNACK is
 * neither missed (mqtt.js would acknowledge a message nobody listened to) nor read without limit.
 */
function attachInbound(client: MqttClient, options: ResolvedMqttOptions, sink: MessageSink, inbound: InboundControl | undefined): InboundReader {
  const reader: InboundReader = { flow: inbound === undefined ? undefined : newFlow(client, options, sink, inbound) };
  client.on("message", (topic, payload, packet) => {
    const properties = packet.properties;
    const message: InboundMessage = {
      topic,
      payload,
      responseTopic: properties?.responseTopic,
      correlationData: properties?.correlationData,
      messageExpiryInterval: properties?.messageExpiryInterval,
    };
    const flow = reader.flow;
    if (flow?.shouldPark(topic)) flow.park(message);
    else sink(message);
  });
  return reader;
}

/** The flow control a client's message listener goes through, once there is one. */
interface InboundReader {
  flow: InboundFlow | undefined;
}

function newFlow(client: MqttClient, options: ResolvedMqttOptions, sink: MessageSink, inbound: InboundControl): InboundFlow {
  // Under "reject" the core bounds what waits and answers the rest at once: nothing is parked.
  const window = options.overload === "reject" ? Number.POSITIVE_INFINITY : inboundWindow(options);
  return new InboundFlow(client, sink, window, inbound.gate, inbound.urgent);
}

export async function connectMqttTransport(options: ResolvedMqttOptions, clientId: string, sink: MessageSink, logger: Logger, will?: LastWill, session: SessionRequest = CLEAN_SESSION, inbound?: InboundControl): Promise<MqttTransport> {
  const versions: (4 | 5)[] = options.protocolVersion === "auto" ? [5, 4] : [options.protocolVersion];
  const deadline = Date.now() + options.connectTimeoutMs;
  for (const version of versions) {
    const canFallBack = version === 5 && versions.length > 1;
    try {
      let reader: InboundReader = { flow: undefined };
      const { client, connack } = await connectOnce(options, clientId, version, deadline, canFallBack, will, session, (client) => (reader = attachInbound(client, options, sink, inbound)));
      if (connack.sessionPresent) logger.info(`${describeBroker(options)} kept the session of ${clientId}: requests queued for it while it was away come now`);
      const transport = new MqttTransport(client, options, sink, logger, reader);
      transport.endSessionOnClose = version === 5 && session.expirySeconds > 0 && !session.clientIdGiven;
      transport.sharedSubscriptionAvailable = connack.properties?.sharedSubscriptionAvailable;
      return transport;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (canFallBack && typeof code === "number" && PROTOCOL_REFUSED.has(code)) {
        logger.debug(`${describeBroker(options)} refused MQTT 5 (code ${code}); falling back to MQTT 3.1.1`);
        continue;
      }
      if (canFallBack && error instanceof NoMqtt5Answer) {
        logger.info(`${describeBroker(options)} ${error.message}; falling back to MQTT 3.1.1`);
        continue;
      }
      throw error;
    }
  }
  throw new CommunicationError(`Could not connect to ${describeBroker(options)}`);
}

/**
 * How long an MQTT 5 CONNECT may go unanswered, under `protocolVersion: "auto"`, before 3.1.1 is tried.
 * A broker that speaks MQTT 5 answers within milliseconds; one that does not (RabbitMQ 3.x) may just
 * close the socket, or say nothing.
 */
const MQTT5_ANSWER_MS = 3_000;

/** The broker took the MQTT 5 CONNECT and closed the socket or stayed silent: worth a 3.1.1 attempt. */
class NoMqtt5Answer extends Error {}

function connectOnce(options: ResolvedMqttOptions, clientId: string, protocolVersion: 4 | 5, deadline: number, canFallBack: boolean, will: LastWill | undefined, session: SessionRequest, attach: (client: MqttClient) => void): Promise<{ client: MqttClient; connack: IConnackPacket }> {
  const where = describeBroker(options);
  const timeoutMs = Math.max(1, deadline - Date.now());
  const clientOptions: IClientOptions = {
    clientId,
    protocolVersion,
    // MQTT 5: Clean Start false with an expiry. 3.1.1 has no expiry: a kept session under a made-up client id
    // would stay on the broker for ever after a crash, so only a client id of the user's own keeps one.
    clean: session.expirySeconds === 0 || (protocolVersion === 4 && !session.clientIdGiven),
    keepalive: options.keepalive,
    reconnectPeriod: options.reconnectPeriodMs,
    connectTimeout: timeoutMs,
    resubscribe: true,
    outgoingStore: new PacketStore(),
    // Ping on a fixed beat (every keepalive) instead of re-arming mqtt.js's ping timer on every
    // acknowledgement received, a clearInterval and a setInterval per QoS 1 message.
    reschedulePings: false,
  };
  if (will !== undefined) clientOptions.will = { topic: will.topic, payload: Buffer.from(will.payload), retain: will.retain, qos: options.qos };
  if (protocolVersion === 5) {
    // The broker never sends a packet larger than this: payloads over maxPayloadBytes are dropped there,
    // never read into memory here. The allowance covers the largest topic and the properties.
    clientOptions.properties = { maximumPacketSize: Math.min(options.maxPayloadBytes + 65_536 + 1_024, 268_435_455) };
    if (session.expirySeconds > 0) clientOptions.properties.sessionExpiryInterval = session.expirySeconds;
    // The broker's window of unacknowledged messages to us: a request is acknowledged once it is answered,
    // so under "queue" the window is the running handlers and the wait queue, and the broker keeps the
    // rest. Under "reject" the broker must keep sending, so that those beyond are turned away at once.
    if (options.overload !== "reject") clientOptions.properties.receiveMaximum = Math.min(65_535, inboundWindow(options));
  }
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
    attach(client);
    let lastError: Error | undefined;
    // Under "auto", an MQTT 5 CONNECT that the broker answers by closing the socket, or not at all, falls back.
    let connectSent = false;
    const onPacketSend = (packet: { cmd: string }) => {
      if (packet.cmd === "connect") connectSent = true;
    };
    const onClose = () => {
      if (connectSent) fail(new NoMqtt5Answer("closed the connection after an MQTT 5 CONNECT"));
    };
    const silence = canFallBack
      ? setTimeout(() => connectSent && fail(new NoMqtt5Answer(`did not answer an MQTT 5 CONNECT within ${MQTT5_ANSWER_MS} ms`)), Math.min(MQTT5_ANSWER_MS, timeoutMs))
      : undefined;
    if (canFallBack) {
      client.on("packetsend", onPacketSend);
      client.on("close", onClose);
    }
    const cleanup = () => {
      clearTimeout(timer);
      clearTimeout(silence);
      client.off("packetsend", onPacketSend);
      client.off("close", onClose);
      client.off("connect", onConnect);
      client.off("error", onError);
    };
    const fail = (error: Error) => {
      cleanup();
      client.end(true);
      reject(error);
    };
    const onConnect = (connack: IConnackPacket) => {
      cleanup();
      resolve({ client, connack });
    };
    const onError = (error: Error & { code?: unknown }) => {
      lastError = error;
      // "Server unavailable" or "busy" may pass (NATS says so while its JetStream is busy): mqtt.js tries
      // again after reconnectPeriodMs, until the connect timeout.
      if (typeof error.code === "number" && TRANSIENT_CONNACK.has(error.code)) return;
      if (typeof error.code === "number") {
        // A CONNACK refusal: retrying will not help.
        const reason = CONNACK_REASONS[error.code] ?? error.message;
        const refused = new CommunicationError(`${where} refused the connection: ${reason} (code ${error.code})${CONNACK_HINTS[error.code] ?? ""}`, { target: where, cause: error });
        Object.assign(refused, { code: error.code });
        fail(refused);
        return;
      }
      const fatal = fatalConnectError(error, options.waitForBroker);
      if (fatal !== undefined) fail(new CommunicationError(`Could not connect to ${where}: ${fatal}`, { target: where, cause: error }));
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
  sharedSubscriptionAvailable: boolean | undefined;
  private readonly where: string;
  private closed = false;
  private corked = false;

  constructor(
    private readonly client: MqttClient,
    private readonly options: ResolvedMqttOptions,
    private readonly sink: MessageSink,
    private readonly logger: Logger,
    /** What reads the client's messages (see `attachInbound`). */
    private readonly reader: InboundReader,
  ) {
    this.inboundGated = reader.flow !== undefined;
    this.supportsProperties = client.options.protocolVersion === 5;
    this.where = describeBroker(options);
    disableNagle(client);
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

  /** Topics whose publishes the broker refused by disconnecting, `REPLAY_LIMIT` times in a row: not published to again. */
  private readonly poisoned = new Set<string>();

  /** mqtt.js's store of unacknowledged packets, when it is ours (connectOnce always gives it one). */
  private get store(): PacketStore | undefined {
    const store = this.client.outgoingStore;
    return store instanceof PacketStore ? store : undefined;
  }

  /** Withdraw publishes that were in flight at `REPLAY_LIMIT` lost connections in a row; their senders get an error. */
  private dropRepeatOffenders(): void {
    const store = this.store;
    if (store === undefined) return;
    for (const { messageId, topic } of store.strike(REPLAY_LIMIT)) {
      this.logger.warn(`Dropped a publish to ${topic}: it was in flight each time the last ${REPLAY_LIMIT} connections to ${this.where} were lost, so the broker is likely refusing it`);
      this.client.removeOutgoingMessage(messageId);
      // A kept session delivers the request again, and its answer would go to the same topic: refuse it here.
      if (this.poisoned.size >= MAX_POISONED_TOPICS) this.poisoned.delete(this.poisoned.values().next().value!);
      this.poisoned.add(topic);
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

  readonly inboundGated: boolean;

  /** Flow control asked for after connecting; messages delivered before it were read without it. */
  setInboundGate(gate: () => Promise<void> | undefined, urgent: (topic: string) => boolean = () => false): void {
    this.reader.flow ??= newFlow(this.client, this.options, this.sink, { gate, urgent });
  }

  /** The MQTT protocol version in use: 5 or 4 (3.1.1). */
  get protocolVersion(): number {
    return this.client.options.protocolVersion ?? 4;
  }

  get protocol(): string {
    return this.protocolVersion === 5 ? "5" : "3.1.1";
  }

  publishRetained(topic: string, payload: string): Promise<void> {
    if (topicTooLong(topic)) return Promise.reject(this.tooLong(topic));
    return new Promise((resolve, reject) => {
      this.client.publish(topic, payload, { qos: this.options.qos, retain: true }, (error) => (error ? reject(this.publishError(topic, error)) : resolve()));
    });
  }

  async unsubscribe(filters: readonly string[]): Promise<void> {
    await this.client.unsubscribeAsync([...filters]);
  }

  onReconnect(listener: () => void): void {
    // The first CONNACK came before this transport existed: every "connect" from now on is a reconnect.
    this.client.on("connect", () => {
      if (!this.closed) listener();
    });
  }

  async subscribe(filters: readonly string[]): Promise<void> {
    // One SUBSCRIBE per filter, all in flight together: on a refusal mqtt.js reports the reason code but
    // not which filter of a packet it was for, and the message must name it.
    let outcomes = await Promise.all(filters.map((filter) => this.subscribeOne(filter)));
    // An unspecified failure (128, the only one MQTT 3.1.1 has) may be passing: NATS answers 128 when the
    // JetStream consumer behind a QoS 1 subscription could not be made in time, under load. Try those again
    // twice before giving up; an ACL refusal then fails `start()` ~1.3 s later than it would.
    for (const delay of SUBSCRIBE_RETRY_DELAYS_MS) {
      const unspecified = outcomes.filter((outcome) => outcome.reasonCode === 128).map((outcome) => outcome.filter);
      if (unspecified.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, delay));
      const again = new Map((await Promise.all(unspecified.map((filter) => this.subscribeOne(filter)))).map((outcome) => [outcome.filter, outcome]));
      outcomes = outcomes.map((outcome) => again.get(outcome.filter) ?? outcome);
    }
    const refused = outcomes.filter((outcome) => outcome.reasonCode !== undefined);
    if (refused.length > 0) {
      const list = refused.map((outcome) => `${outcome.filter} (${reasonName(outcome.reasonCode!)})`).join(", ");
      throw new CommunicationError(
        `${this.where} refused the subscription to ${list}: check the broker's ACL for client ${this.client.options.clientId}${this.options.username ? ` (user ${this.options.username})` : ""}`,
        { target: this.where, details: { refused: refused.map((outcome) => ({ topic: outcome.filter, reasonCode: outcome.reasonCode })) } },
      );
    }
  }

  private subscribeOne(filter: string): Promise<{ filter: string; reasonCode?: number }> {
    return new Promise((resolve, reject) => {
      this.client.subscribe(filter, { qos: this.options.qos }, (error, granted, suback) => {
        // On a refusal mqtt.js's error says only the reason's name; the SUBACK it passes has the code.
        const code = (suback as { granted?: number[] } | undefined)?.granted?.[0] ?? granted?.[0]?.qos;
        if (typeof code === "number" && code >= 128) resolve({ filter, reasonCode: code });
        else if (error) reject(error);
        else resolve({ filter });
      });
    });
  }

  publish(topic: string, payload: string, properties?: PublishProperties, ticket?: PublishTicket): Promise<void> {
    if (topicTooLong(topic)) return Promise.reject(this.tooLong(topic));
    if (this.poisoned.size > 0 && this.poisoned.has(topic)) {
      return Promise.reject(new CommunicationError(`Not publishing to ${topic}: ${this.where} dropped the connection each time this client published there`, { target: topic }));
    }
    const options: IClientPublishOptions = { qos: this.options.qos };
    // The fields are mqtt.js's own property names; correlation data is a Buffer from the runtime or from mqtt.js.
    if (properties && this.supportsProperties) options.properties = properties as IClientPublishOptions["properties"];
    // mqtt.js gives a QoS 1 publish its packet id when it stores it, inside `publish`: the store notes it on
    // the ticket. (Not through publish's `cbStorePut` option: a key mqtt.js's defaults lack costs a new
    // hidden class per call on Node 20, see docs/performance.md.)
    const store = ticket === undefined ? undefined : this.store;
    return new Promise((resolve, reject) => {
      if (store) store.expecting = ticket;
      this.client.publish(topic, payload, options, (error) => {
        // Acknowledged (or failed): the id is mqtt.js's to reuse from now on.
        if (ticket) ticket.packetId = undefined;
        if (error) reject(this.publishError(topic, error));
        else resolve();
      });
      if (store) store.expecting = undefined;
    });
  }

  /**
   * A topic MQTT cannot carry. mqtt-packet would throw half-way through writing it, leaving the connection out
   * of step and the packet in mqtt.js's store, to be sent again (and throw outside any handler) at the next
   * connect: it is refused before it reaches mqtt.js.
   */
  private tooLong(topic: string): CommunicationError {
    return new CommunicationError(`Cannot publish to a topic of ${Buffer.byteLength(topic)} bytes (MQTT allows ${MAX_TOPIC_BYTES}): ${topic.slice(0, 64)}...`, { target: topic.slice(0, 64) });
  }

  /** An MQTT 5 PUBACK with a failure reason code (mqtt.js sets `code`) names the topic and, for 135, the ACL. */
  private publishError(topic: string, error: Error & { code?: unknown }): Error {
    if (typeof error.code !== "number" || error.code < 128) return error;
    const acl = error.code === 135 ? ": the broker's ACL does not let this client publish there" : "";
    return new CommunicationError(`${this.where} refused the publish to ${topic} (${reasonName(error.code)})${acl}`, { target: topic, cause: error, details: { reasonCode: error.code } });
  }

  /** Remove an unacknowledged publish from mqtt.js's store (and offline queue): it is not sent, or not again. */
  withdraw(ticket: PublishTicket): void {
    const packetId = ticket.packetId;
    ticket.packetId = undefined;
    if (packetId !== undefined) this.client.removeOutgoingMessage(packetId);
  }

  get connected(): boolean {
    return this.client.connected;
  }

  /**
   * Set by `connectMqttTransport`: a kept session under a client id nobody will use again (a made-up one)
   * is ended when this transport closes, instead of staying on the broker until it expires.
   */
  endSessionOnClose = false;

  async close(flushMs = CLOSE_FLUSH_MS): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Disconnected (the broker unreachable): nothing can be flushed, and mqtt.js would keep reconnecting.
    if (!this.client.connected) {
      await this.client.endAsync(true);
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const disconnect = this.endSessionOnClose ? { properties: { sessionExpiryInterval: 0 } } : undefined;
    const flushed = this.client.endAsync(false, disconnect);
    const timedOut = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), flushMs)));
    if ((await Promise.race([flushed, timedOut])) === "timeout") await this.client.endAsync(true);
    clearTimeout(timer);
  }
}

/** How many requests may be in this process unacknowledged: running handlers and the wait queue. */
function inboundWindow(options: ResolvedMqttOptions): number {
  return (options.maxConcurrentHandlers ?? DEFAULT_MAX_CONCURRENT_HANDLERS) + Math.max(1, options.maxQueuedRequests ?? DEFAULT_MAX_QUEUED_REQUESTS);
}

/** The largest topic MQTT can carry, in UTF-8 bytes. */
const MAX_TOPIC_BYTES = 65_535;

/** Whether `topic` is over MQTT's limit. A string of at most 21 845 UTF-16 units is at most 65 535 UTF-8 bytes: no count needed. */
function topicTooLong(topic: string): boolean {
  return topic.length > 21_845 && Buffer.byteLength(topic, "utf8") > MAX_TOPIC_BYTES;
}
