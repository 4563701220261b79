/**
 * The live services on the broker, from their retained discovery records (`P/instance/<id>`), as `discover()`
 * reads them, but kept open: a record that arrives adds or updates an instance, an empty one (the instance
 * stopped, or its Last Will fired) removes it. Records come from the network: each is checked by the
 * runtime's `decodeRecord`, and at most `MAX_INSTANCES` are kept.
 */
import type { InstanceRecord } from "../../instances/record.js";
import { anyRecordFilters, decodeRecord, parseRecordTopic } from "../../instances/record.js";
import type { InboundMessage } from "../../transport/transport.js";
import type { Logger } from "../../logger.js";
import { connectMqttTransport } from "../../mqtt/mqtt-connect.js";
import type { ResolvedMqttOptions } from "../../mqtt/mqtt-options.js";
import { randomHex } from "../../platform/random.js";

/** Instances kept at most: past this, new records are ignored until some go. */
export const MAX_INSTANCES = 2_000;

export interface LiveService {
  prefix: string;
  instances: InstanceRecord[];
}

export class LiveServices {
  private readonly records = new Map<string, InstanceRecord>();
  private transport: { close(): Promise<void> } | undefined;
  private dropped = 0;

  constructor(private readonly onChange: () => void) {}

  async start(options: ResolvedMqttOptions, logger: Logger): Promise<void> {
    const sink = (message: InboundMessage) => this.receive(message);
    const transport = await connectMqttTransport({ ...options, waitForBroker: false }, `mqtt-contracts-ui-${randomHex(4)}`, sink, logger);
    this.transport = transport;
    await transport.subscribe(anyRecordFilters(8));
  }

  async stop(): Promise<void> {
    const transport = this.transport;
    this.transport = undefined;
    this.records.clear();
    await transport?.close();
  }

  /** Records over the cap that were not kept. */
  get ignored(): number {
    return this.dropped;
  }

  /** The services, by prefix, each with its instances sorted by id. */
  services(): LiveService[] {
    const byPrefix = new Map<string, InstanceRecord[]>();
    for (const record of this.records.values()) {
      const list = byPrefix.get(record.prefix);
      if (list === undefined) byPrefix.set(record.prefix, [record]);
      else list.push(record);
    }
    return [...byPrefix]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([prefix, instances]) => ({ prefix, instances: instances.sort((a, b) => (a.instance < b.instance ? -1 : 1)) }));
  }

  private receive(message: InboundMessage): void {
    if (parseRecordTopic(message.topic) === undefined) return;
    const record = decodeRecord(message.topic, message.payload);
    if (typeof record === "string") return; // not a record of ours, or a broken one: not shown
    if (record === undefined || record.leaving === true) {
      if (!this.records.delete(message.topic)) return;
    } else {
      if (!this.records.has(message.topic) && this.records.size >= MAX_INSTANCES) {
        this.dropped++;
        return;
      }
      this.records.set(message.topic, record);
    }
    this.onChange();
  }
}
