/** One message as a transport delivers it to the RPC core. */
export interface InboundMessage {
  topic: string;
  payload: Uint8Array;
  /** MQTT 5 Response Topic property, when the transport carries properties. */
  responseTopic?: string | undefined;
  /** MQTT 5 Correlation Data property. */
  correlationData?: Uint8Array | undefined;
  /** MQTT 5 Message Expiry Interval, in seconds remaining. */
  messageExpiryInterval?: number | undefined;
}

export interface PublishProperties {
  responseTopic?: string;
  correlationData?: Uint8Array;
  /** Seconds. */
  messageExpiryInterval?: number;
}

/**
 * What the RPC core needs from a message transport: topic publish/subscribe. MQTT implements it,
 * the in-memory bus implements it, and a plugin may implement it for another broker.
 */
export interface Transport {
  /** Whether publish properties (MQTT 5) reach the other side. Decided once connected. */
  readonly supportsProperties: boolean;
  /** Subscribe to topic filters; kept across reconnects. Rejects if any subscription is refused. */
  subscribe(filters: readonly string[]): Promise<void>;
  /**
   * Publish; the promise settles once the transport accepted (QoS 0) or the broker acknowledged (QoS 1).
   * With a `ticket`, the transport notes there what `withdraw` needs while the publish is unacknowledged.
   */
  publish(topic: string, payload: string, properties?: PublishProperties, ticket?: PublishTicket): Promise<void>;
  /**
   * Optional: take back a publish that the broker has not acknowledged yet, so that it is never sent
   * (or, after a reconnect, never sent again). Its promise rejects. Used for requests whose caller gave up.
   */
  withdraw?(ticket: PublishTicket): void;
  /**
   * Optional: hold writes until the end of this event-loop turn, so that everything written
   * meanwhile (acknowledgements, answers, new requests) leaves in one write. Called by the RPC core
   * from inside the sink, before the transport acknowledges the message being delivered.
   */
  holdWrites?(): void;
  /**
   * Optional: right after delivering an inbound message, ask `gate`; when it returns a promise, do not
   * acknowledge that message until the promise resolves, while still reading everything else (pings,
   * acknowledgements, answers). A broker keeps a bounded window of unacknowledged messages per client, so
   * requests beyond `maxConcurrentHandlers` and the wait queue stay at the broker instead of in memory.
   * Messages a broker sends beyond that window may wait in the transport, unacknowledged, except those
   * `urgent` names (answers to this client's calls). A transport without it gets no limit.
   */
  setInboundGate?(gate: () => Promise<void> | undefined, urgent?: (topic: string) => boolean): void;
  /** Optional: true when the transport took an `InboundControl` as it connected (then `setInboundGate` is not called). */
  readonly inboundGated?: boolean;
  /** Optional: whether the broker keeps this connection's session when it ends (then unanswered requests come again). */
  readonly keepsSession?: boolean;
  /**
   * Disconnect, flushing what is in flight for at most `flushMs` (default: the transport's own bound), then
   * dropping the connection. Must settle within that bound with the broker unreachable too.
   */
  close(flushMs?: number): Promise<void>;
  /** Optional: whether the connection is up now. A transport without it counts as connected. */
  readonly connected?: boolean;
  /**
   * Optional, for discovery records: publish a message the broker keeps for later subscribers (an
   * empty payload clears it). Without it, a communicator publishes no record and sees no instances.
   */
  publishRetained?(topic: string, payload: string): Promise<void>;
  /** Optional: drop subscriptions made with `subscribe`. */
  unsubscribe?(filters: readonly string[]): Promise<void>;
  /** Optional: call `listener` after each reconnect (the broker may have lost retained messages). */
  onReconnect?(listener: () => void): void;
  /** The protocol in use, for the discovery record: "5", "3.1.1", or the transport's own name. */
  readonly protocol?: string;
  /** What the broker said of `$share` subscriptions when it accepted the connection (MQTT 5), if anything. */
  readonly sharedSubscriptionAvailable?: boolean | undefined;
}

/** A message the broker publishes for a client that disappears without disconnecting (MQTT Last Will). */
export interface LastWill {
  topic: string;
  payload: string;
  retain: boolean;
}

/** Where a transport keeps what identifies a publish it may be asked to withdraw. Opaque to the RPC core. */
export interface PublishTicket {
  packetId?: number | undefined;
}

/**
 * Flow control a transport may take when it connects (see `Transport.setInboundGate`): given before the
 * connection exists, it covers what a kept session delivers right after the broker accepts it.
 */
export interface InboundControl {
  gate(): Promise<void> | undefined;
  urgent(topic: string): boolean;
}

/** Receives what the transport reads. Must not throw. */
export type MessageSink = (message: InboundMessage) => void;
