/**
 * `discover()`: the services and instances on a broker, read from their retained discovery records.
 */
import { randomHex } from "../platform/random.js";
import type { InboundMessage } from "../transport/transport.js";
import { parseCommunicatorOptions } from "../communicator/parse-options.js";
import { createConsoleLogger, type Logger } from "../logger.js";
import { safeLogger } from "../log/safe-logger.js";
import { connectMqttTransport } from "./mqtt-connect.js";
import { mqttCommunicatorOptionsSchema, type MqttCommunicatorOptions } from "./mqtt-options.js";
import { assertPrefix } from "../wire/names.js";
import { anyRecordFilters, decodeRecord, discoverQueryTopic, instanceRecordFilter, parseRecordTopic, type InstanceRecord } from "../instances/record.js";

export interface DiscoverOptions {
  /** How to reach the broker: the `mqtt` communicator's options (`url`, credentials, TLS...). */
  connection?: MqttCommunicatorOptions;
  /** Only this prefix. Default: every prefix of up to `maxDepth` levels. */
  prefix?: string;
  /** Prefixes of up to this many levels are found when no `prefix` is given. Default 8. */
  maxDepth?: number;
  /**
   * How long to wait for records after subscribing, in ms: brokers send retained messages right after the
   * subscription; this ends early once none came for `quietMs`. Default 1 000.
   */
  waitMs?: number;
  /** Stop waiting once no record came for this long. Default 150 ms. */
  quietMs?: number;
  logger?: Logger;
}

/** One service prefix and its live instances. */
export interface DiscoveredService {
  prefix: string;
  /** Agent names of its instances. */
  agents: string[];
  /** The union of what its instances serve. */
  methods: string[];
  notifications: string[];
  handlers: string[];
  /** The methods among `methods` that stream. */
  streams: string[];
  instances: InstanceRecord[];
}

/** The live services on a broker, by prefix (sorted), each with its instances. */
export async function discover(options: DiscoverOptions = {}): Promise<DiscoveredService[]> {
  if (options.prefix !== undefined) assertPrefix("prefix", options.prefix);
  const logger = safeLogger(options.logger ?? createConsoleLogger("mqtt-contracts:discover"));
  const connection = parseCommunicatorOptions("mqtt", "discover", mqttCommunicatorOptionsSchema(), options.connection ?? {});
  const records = new Map<string, InstanceRecord>();
  let lastArrival = Date.now();
  const sink = (message: InboundMessage) => {
    const where = parseRecordTopic(message.topic);
    if (where === undefined) return;
    const record = decodeRecord(message.topic, message.payload);
    if (typeof record === "string") {
      logger.debug(`discover: ignored ${message.topic}: ${record}`);
      return;
    }
    lastArrival = Date.now();
    if (record === undefined) records.delete(message.topic);
    else records.set(message.topic, record);
  };
  const transport = await connectMqttTransport({ ...connection, waitForBroker: false }, `discover-${randomHex(4)}`, sink, logger);
  try {
    const filters = options.prefix !== undefined ? [instanceRecordFilter(options.prefix)] : anyRecordFilters(options.maxDepth ?? 8);
    await transport.subscribe(filters);
    // Ask the prefix's instances to publish their records again, for brokers that keep retained messages
    // but do not deliver them to wildcard subscriptions (RabbitMQ 3). Without a prefix there is no one to ask.
    if (options.prefix !== undefined) await transport.publish(discoverQueryTopic(options.prefix), "");
    const waitMs = options.waitMs ?? 1_000;
    const quietMs = options.quietMs ?? 150;
    const subscribed = Date.now();
    lastArrival = subscribed;
    await new Promise<void>((resolve) => {
      const check = () => {
        const now = Date.now();
        if (now - subscribed >= waitMs || now - lastArrival >= quietMs) resolve();
        else setTimeout(check, Math.min(quietMs, 50));
      };
      setTimeout(check, Math.min(quietMs, 50));
    });
  } finally {
    await transport.close();
  }
  return groupByPrefix([...records.values()]);
}

function groupByPrefix(records: InstanceRecord[]): DiscoveredService[] {
  const byPrefix = new Map<string, InstanceRecord[]>();
  for (const record of records) byPrefix.set(record.prefix, [...(byPrefix.get(record.prefix) ?? []), record]);
  const union = (instances: InstanceRecord[], pick: (record: InstanceRecord) => string[]) => [...new Set(instances.flatMap(pick))].sort();
  return [...byPrefix]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([prefix, instances]) => ({
      prefix,
      agents: union(instances, (record) => [record.agent]),
      methods: union(instances, (record) => record.methods),
      notifications: union(instances, (record) => record.notifications),
      handlers: union(instances, (record) => record.handlers),
      streams: union(instances, (record) => record.streams ?? []),
      instances: instances.sort((a, b) => (a.instance < b.instance ? -1 : 1)),
    }));
}
