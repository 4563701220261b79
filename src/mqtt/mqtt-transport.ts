import type { IClientPublishOptions, MqttClient } from "mqtt";
import { CommunicationError } from "../errors/errors.js";
import type { Logger } from "../logger.js";
import type { PublishProperties, PublishTicket, Transport } from "../transport/transport.js";
import type { ResolvedMqttOptions } from "./mqtt-options.js";
import { PacketStore } from "./packet-store.js";
import { reasonName } from "./reason-codes.js";
import { utf8Length } from "../platform/bytes.js";
import { runSoon } from "../platform/runtime.js";

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
    private readonly logger: Logger,
    /** Whether the client's messages go through `InboundFlow` (see `attachInbound` in mqtt-connect.ts). */
    readonly inboundGated: boolean,
  ) {
    this.supportsProperties = client.options.protocolVersion === 5;
    this.where = describeBroker(options);
    disableNagle(client);
    client.on("error", (error) => {
      // While closing, what still arrives (a late stream item's acknowledgement) may meet the ended socket: not news.
      if (this.closed) logger.debug(`MQTT error from ${this.where} while closing: ${error.message}`);
      else logger.warn(`MQTT error from ${this.where}: ${error.message}`);
    });
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
    runSoon(() => {
      this.corked = false;
      stream.uncork!();
    });
  }

  /** Set by `connectMqttTransport`: whether the broker keeps the session when the connection ends. */
  keepsSession = false;

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
    return new CommunicationError(`Cannot publish to a topic of ${utf8Length(topic)} bytes (MQTT allows ${MAX_TOPIC_BYTES}): ${topic.slice(0, 64)}...`, { target: topic.slice(0, 64) });
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

/** The largest topic MQTT can carry, in UTF-8 bytes. */
const MAX_TOPIC_BYTES = 65_535;

/** Whether `topic` is over MQTT's limit. A string of at most 21 845 UTF-16 units is at most 65 535 UTF-8 bytes: no count needed. */
function topicTooLong(topic: string): boolean {
  return topic.length > 21_845 && utf8Length(topic) > MAX_TOPIC_BYTES;
}
