import type { IPublishPacket, MqttClient } from "mqtt";
import { DEFAULT_MAX_CONCURRENT_HANDLERS, DEFAULT_MAX_QUEUED_REQUESTS } from "../communicator/defaults.js";
import type { InboundMessage, MessageSink } from "../transport/transport.js";
import type { ResolvedMqttOptions } from "./mqtt-options.js";
import { copyBytes } from "../platform/bytes.js";

/** Tells mqtt.js to read on without acknowledging: it goes on to the next packet when handleMessage reports an error. */
const ACK_LATER = new Error("acknowledged once a handler takes it");

/**
 * Parked messages may hold at most this many payload bytes; past it, reading stops until they move on.
 * Only a broker that ignores the window gets there (see `InboundFlow`).
 */
const MAX_PARKED_BYTES = 32 * 1024 * 1024;

/** A message read while the wait queue was full: delivered, and acknowledged, once there is room. */
interface Parked {
  message: InboundMessage;
  bytes: number;
  /** The QoS 1 packet id to acknowledge; undefined at QoS 0. */
  messageId: number | undefined;
  /** The connection it came on: an acknowledgement belongs to its connection. */
  stream: unknown;
  /** Set when reading stopped at this message: lets mqtt.js read on. */
  resume?: (() => void) | undefined;
}

/**
 * Flow control of inbound messages over mqtt.js, so that a server whose handlers are all busy neither
 * loses its connection nor grows without bound.
 *
 * mqtt.js delivers a message (`message` event), then asks `handleMessage` before it acknowledges it and
 * reads the next packet. A request a handler has not answered yet (running, or waiting for a free
 * handler) is not acknowledged until it is answered, so a server that dies meanwhile gets it again from
 * its persistent session; but reading goes on, so PINGRESPs, acknowledgements and answers keep coming
 * and the keepalive holds however long handlers take. A broker should stop sending once its window of unacknowledged
 * messages is full (the Receive Maximum this client asks for under MQTT 5, its own limit under 3.1.1);
 * Mosquitto 2.0 does not, when messages come in bursts, and aedes has no window. Messages beyond the
 * window are parked here, unacknowledged and compact (a copy of topic and payload, not the parser's
 * buffers), and delivered in order as waiting requests start. Only past `MAX_PARKED_BYTES` does
 * reading stop, as a last bound on memory.
 */
export class InboundFlow {
  /** Delivered messages not yet acknowledged because what they carry waits for a handler. */
  private held = 0;
  private readonly parked: Parked[] = [];
  private parkedHead = 0;
  private parkedBytes = 0;
  /** The message the `message` listener just parked, for `handleMessage` to finish. */
  private justParked: Parked | undefined;

  constructor(
    private readonly client: MqttClient,
    private readonly sink: MessageSink,
    /** Delivered messages that may be unacknowledged at once: running handlers and the wait queue. */
    private readonly window: number,
    private readonly gate: () => Promise<void> | undefined,
    /** Messages that are never parked: answers to this client's own calls. */
    private readonly urgent: (topic: string) => boolean,
  ) {
    client.handleMessage = (packet, callback) => this.afterDelivery(packet, callback);
  }

  /** Whether a message read now waits in the park instead of reaching the sink. */
  shouldPark(topic: string): boolean {
    return (this.held >= this.window || this.parkedHead < this.parked.length) && !this.urgent(topic);
  }

  /** Called by the transport's `message` listener instead of the sink when `shouldPark` says so. */
  park(message: InboundMessage): void {
    const payload = copyBytes(message.payload);
    const bytes = payload.byteLength + message.topic.length * 2;
    const entry: Parked = { message: { ...message, payload }, bytes, messageId: undefined, stream: this.client.stream };
    this.parked.push(entry);
    this.parkedBytes += bytes;
    this.justParked = entry;
  }

  private afterDelivery(packet: IPublishPacket, callback: (error?: Error) => void): void {
    const messageId = packet.qos === 1 ? packet.messageId : undefined;
    const parked = this.justParked;
    if (parked !== undefined) {
      this.justParked = undefined;
      parked.messageId = messageId;
      const readOn = () => callback(messageId === undefined ? undefined : ACK_LATER);
      if (this.parkedBytes > MAX_PARKED_BYTES) parked.resume = readOn;
      else readOn();
      return;
    }
    const queued = this.gate();
    if (queued === undefined) {
      callback();
      return;
    }
    this.hold(queued, messageId, this.client.stream);
    callback(messageId === undefined ? undefined : ACK_LATER);
  }

  /** Acknowledge once what the message carried has been answered; then let parked messages move up. */
  private hold(queued: Promise<void>, messageId: number | undefined, stream: unknown): void {
    this.held++;
    void queued.then(() => {
      this.held--;
      this.acknowledge(messageId, stream);
      this.unpark();
    });
  }

  private unpark(): void {
    while (this.held < this.window && this.parkedHead < this.parked.length) {
      const entry = this.parked[this.parkedHead]!;
      this.parked[this.parkedHead++] = undefined as unknown as Parked;
      this.parkedBytes -= entry.bytes;
      this.sink(entry.message);
      const queued = this.gate();
      if (queued === undefined) this.acknowledge(entry.messageId, entry.stream);
      else this.hold(queued, entry.messageId, entry.stream);
      entry.resume?.();
    }
    if (this.parkedHead === this.parked.length) {
      this.parked.length = 0;
      this.parkedHead = 0;
    } else if (this.parkedHead > 1_024 && this.parkedHead * 2 > this.parked.length) {
      this.parked.splice(0, this.parkedHead);
      this.parkedHead = 0;
    }
  }

  /**
   * Send the PUBACK that mqtt.js left to us. Not after a reconnect: the broker sends the message again on
   * the new connection (a persistent session), where it is a duplicate the dedup cache answers.
   */
  private acknowledge(messageId: number | undefined, stream: unknown): void {
    if (messageId === undefined || this.client.stream !== stream || !this.client.connected) return;
    const client = this.client as unknown as { _sendPacket(packet: object): void; options: { protocolVersion?: number } };
    client._sendPacket(client.options.protocolVersion === 5 ? { cmd: "puback", messageId, reasonCode: 0 } : { cmd: "puback", messageId });
  }
}

/**
 * How many requests may be in this process unacknowledged: running handlers and the wait queue. Under
 * "reject" only the Overloaded answers the broker has not taken yet are held: at most as many again.
 */
export function inboundWindow(options: ResolvedMqttOptions): number {
  return (options.maxConcurrentHandlers ?? DEFAULT_MAX_CONCURRENT_HANDLERS) + Math.max(1, options.maxQueuedRequests ?? DEFAULT_MAX_QUEUED_REQUESTS);
}
