import type { PublishProperties } from "../transport/transport.js";
import type { WireFormat } from "../wire/format.js";
import { toHex } from "../platform/bytes.js";
import { cancelSoon, runSoon, type SoonHandle } from "../platform/runtime.js";

/**
 * Collects the answers to batch entries that finish in the same event-loop turn and publishes them
 * as one message per response topic, joined by their wire format (a JSON-RPC batch response). Each entry is answered as soon as its handler
 * is done (a slow entry never holds up the others); entries that finish together share a message.
 */
export class ResponseCoalescer {
  /** Keyed by topic and correlation data: answers to different MQTT 5 batches keep their own. */
  private readonly queued = new Map<string, { topic: string; properties: PublishProperties | undefined; bodies: string[]; format: WireFormat }>();
  private scheduled: SoonHandle | undefined;

  constructor(private readonly publish: (topic: string, payload: string, properties?: PublishProperties) => Promise<void>) {}

  add(topic: string, body: string, properties: PublishProperties | undefined, format: WireFormat): void {
    const key = properties?.correlationData ? `${topic}\u0000${toHex(properties.correlationData)}` : topic;
    const queued = this.queued.get(key);
    if (queued) queued.bodies.push(body);
    else this.queued.set(key, { topic, properties, bodies: [body], format });
    this.scheduled ??= runSoon(() => void this.flush());
  }

  /** Publish what is queued now; resolves once handed to the transport. */
  async flush(): Promise<void> {
    if (this.scheduled !== undefined) cancelSoon(this.scheduled);
    this.scheduled = undefined;
    const batches = [...this.queued.values()];
    this.queued.clear();
    await Promise.all(batches.map(({ topic, properties, bodies, format }) => this.publish(topic, format.joinReplies!(bodies), properties)));
  }
}
