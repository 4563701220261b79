import type { InboundMessage, MessageSink, PublishProperties } from "../transport/transport.js";
import { topicMatches } from "../wire/topic-filter.js";
import { copyBytes, utf8Encode } from "../platform/bytes.js";
import { runSoon } from "../platform/runtime.js";

interface Subscription {
  filter: string;
  sink: MessageSink;
}

/**
 * An in-process topic bus: what a broker is to `MqttCommunicator`, this is to `MemoryCommunicator`.
 * Delivery is asynchronous (never inside `publish`) and copies the payload, as a network would.
 * Communicators share `MemoryBus.default` unless given their own.
 */
export class MemoryBus {
  static readonly default = new MemoryBus();
  private readonly subscriptions = new Set<Subscription>();
  /** Retained messages by topic, as a broker keeps them (discovery records). */
  private readonly retained = new Map<string, string>();

  /** Subscribe `sink` to `filters`, delivering the retained messages they match; returns a function that removes the subscriptions. */
  subscribe(filters: readonly string[], sink: MessageSink): () => void {
    const added = filters.map((filter) => ({ filter, sink }));
    for (const subscription of added) this.subscriptions.add(subscription);
    for (const [topic, payload] of this.retained) {
      if (filters.some((filter) => topicMatches(filter, topic))) runSoon(() => sink({ topic, payload: utf8Encode(payload) }));
    }
    return () => {
      for (const subscription of added) this.subscriptions.delete(subscription);
    };
  }

  /** Publish, and keep the message for later subscribers; an empty payload clears what was kept. */
  publishRetained(topic: string, payload: string): void {
    if (payload === "") this.retained.delete(topic);
    else this.retained.set(topic, payload);
    this.publish(topic, payload);
  }

  publish(topic: string, payload: string, properties: PublishProperties = {}): void {
    const bytes = utf8Encode(payload);
    const delivered = new Set<MessageSink>();
    for (const { filter, sink } of this.subscriptions) {
      // Like a broker with overlapping subscriptions of one client: deliver once per subscriber.
      if (delivered.has(sink) || !topicMatches(filter, topic)) continue;
      delivered.add(sink);
      const message: InboundMessage = { topic, payload: copyBytes(bytes), ...properties };
      runSoon(() => sink(message));
    }
  }
}
