/**
 * The discovery record: what every server publishes, retained, at `P/instance/<clientId>`, and what its
 * MQTT Last Will clears. Clients read the records of their targets to spread calls over a group's
 * instances; `discover()` and `mqtt-contracts ls` read every record on a broker.
 */
import { isPlainObject } from "../wire/values.js";
import { nameProblem, prefixProblem } from "../wire/names.js";
import { parseJson, utf8 } from "../wire/payload.js";

import { RECORD_KIND, type InstanceRecord, type Routing } from "../communicator/membership.js";

export { RECORD_KIND, type InstanceRecord, type Routing };

const LEVEL = "instance";

/** `P/instance/<id>`: where the instance's record is retained. */
export function instanceTopic(prefix: string, instance: string): string {
  return `${prefix}/${LEVEL}/${instance}`;
}

/** `P/instance/+`: the records of every instance serving `P`. */
export function instanceRecordFilter(prefix: string): string {
  return `${prefix}/${LEVEL}/+`;
}

/** `P/instance/<id>/request`: requests addressed to one instance (the method follows as a level). */
export function instanceRequestBase(prefix: string, instance: string): string {
  return `${prefix}/${LEVEL}/${instance}/request`;
}

/** `P/instance/<id>/probe`: where a starting instance checks that its broker delivers `$share`. */
export function instanceProbeTopic(prefix: string, instance: string): string {
  return `${prefix}/${LEVEL}/${instance}/probe`;
}

/**
 * `P/discover`: where a communicator that starts watching `P` asks its instances to publish their records
 * again. Brokers that keep retained messages but do not deliver them to wildcard subscriptions (RabbitMQ 3)
 * would otherwise show a watcher only the instances that start after it.
 */
export function discoverQueryTopic(prefix: string): string {
  return `${prefix}/discover`;
}

/** Filters that match the record of a prefix of 1 to `depth` levels: `+/instance/+`, `+/+/instance/+`, ... */
export function anyRecordFilters(depth = 8): string[] {
  return Array.from({ length: depth }, (_, i) => `${"+/".repeat(i + 1)}${LEVEL}/+`);
}

/** The prefix and instance id a record topic names, or undefined if it is not one. */
export function parseRecordTopic(topic: string): { prefix: string; instance: string } | undefined {
  const levels = topic.split("/");
  if (levels.length < 3 || levels.at(-2) !== LEVEL) return undefined;
  return { prefix: levels.slice(0, -2).join("/"), instance: levels.at(-1)! };
}

const MAX_NAMES = 10_000;
const MAX_RECORD_BYTES = 1024 * 1024;

/**
 * Read a record message: `undefined` for an empty payload (the record was cleared: the instance is gone),
 * the record, or a string saying what is wrong with it (records come from the network).
 */
export function decodeRecord(topic: string, payload: Uint8Array): InstanceRecord | undefined | string {
  if (payload.byteLength === 0) return undefined;
  if (payload.byteLength > MAX_RECORD_BYTES) return `a record of ${payload.byteLength} bytes (limit ${MAX_RECORD_BYTES})`;
  const where = parseRecordTopic(topic);
  if (where === undefined) return `not a record topic: ${topic}`;
  let value: unknown;
  try {
    value = parseJson(utf8(payload));
  } catch {
    return "a record that is not JSON";
  }
  if (!isPlainObject(value) || value.kind !== RECORD_KIND) return "not an mqtt-contracts instance record";
  const problem =
    stringField(value, "agent", 256) ??
    (value.prefix !== where.prefix ? `"prefix" ${JSON.stringify(value.prefix)} is not the topic's ${JSON.stringify(where.prefix)}` : undefined) ??
    (value.instance !== where.instance ? `"instance" is not the topic's ${JSON.stringify(where.instance)}` : undefined) ??
    (prefixProblem(value.prefix) === undefined ? undefined : `"prefix" ${prefixProblem(value.prefix)}`) ??
    (nameProblem(value.instance) === undefined ? undefined : `"instance" ${nameProblem(value.instance)}`) ??
    (value.group === null || nameProblem(value.group) === undefined ? undefined : `"group" ${nameProblem(value.group)}`) ??
    (value.routing === "single" || value.routing === "shared" || value.routing === "instances" ? undefined : `"routing" is ${JSON.stringify(value.routing)}`) ??
    namesField(value, "methods") ??
    namesField(value, "notifications") ??
    namesField(value, "handlers") ??
    (value.streams === undefined ? undefined : namesField(value, "streams")) ??
    stringField(value, "schemaDigest", 128) ??
    stringField(value, "library", 256) ??
    stringField(value, "protocol", 32) ??
    numberField(value, "startedAt") ??
    numberField(value, "keepaliveSeconds") ??
    (value.openmas === undefined || prefixProblem(value.openmas) === undefined ? undefined : `"openmas" ${prefixProblem(value.openmas)}`);
  if (problem !== undefined) return problem;
  const record: InstanceRecord = {
    kind: RECORD_KIND,
    agent: value.agent as string,
    prefix: value.prefix as string,
    instance: value.instance as string,
    group: value.group as string | null,
    routing: value.routing as Routing,
    methods: value.methods as string[],
    notifications: value.notifications as string[],
    handlers: value.handlers as string[],
    schemaDigest: value.schemaDigest as string,
    library: value.library as string,
    protocol: value.protocol as string,
    startedAt: value.startedAt as number,
    keepaliveSeconds: value.keepaliveSeconds as number,
  };
  if (value.streams !== undefined) record.streams = value.streams as string[];
  if (value.leaving === true) record.leaving = true;
  if (value.openmas !== undefined) record.openmas = value.openmas as string;
  return record;
}

function stringField(value: Record<string, unknown>, key: string, max: number): string | undefined {
  const field = value[key];
  return typeof field === "string" && field.length <= max ? undefined : `"${key}" must be a string of at most ${max} characters`;
}

function numberField(value: Record<string, unknown>, key: string): string | undefined {
  const field = value[key];
  return typeof field === "number" && Number.isFinite(field) && field >= 0 ? undefined : `"${key}" must be a non-negative number`;
}

function namesField(value: Record<string, unknown>, key: string): string | undefined {
  const field = value[key];
  if (!Array.isArray(field) || field.length > MAX_NAMES) return `"${key}" must be an array of at most ${MAX_NAMES} names`;
  return field.every((name) => typeof name === "string" && name.length > 0 && name.length <= 256) ? undefined : `"${key}" must hold non-empty strings`;
}
