import type { InboundMessage, MessageSink, PublishProperties } from "../communicator/transport.js";
import { topicMatches } from "../wire/topics.js";

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

  /** Subscribe `sink` to `filters`; returns a function that removes the subscriptions. */
  subscribe(filters: readonly string[], sink: MessageSink): () => void {
    const added = filters.map((filter) => ({ filter, sink }));
    for (const subscription of added) this.subscriptions.add(subscription);
    return () => {
      for (const subscription of added) this.subscriptions.delete(subscription);
    };
  }

  publish(topic: string, payload: string, properties: PublishProperties = {}): void {
    const bytes = Buffer.from(payload, "utf8");
    const delivered = new Set<MessageSink>();
    for (const { filter, sink } of this.subscriptions) {
      // Like a broker with overlapping subscriptions of one client: deliver once per subscriber.
      if (delivered.has(sink) || !topicMatches(filter, topic)) continue;
      delivered.add(sink);
      const message: InboundMessage = { topic, payload: Buffer.from(bytes), ...properties };
      setImmediate(sink, message);
    }
  }
}
