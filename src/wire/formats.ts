/**
 * Which wire format each call and each served topic uses, decided once from the options: JSON-RPC 2.0 by
 * default, OpenMAS's built-in format for the services listed as `openmas` (and, with `wireFormat:
 * "openmas"`, served beside JSON-RPC under `<root>/<agent name>/...`).
 */
import { ConfigurationError } from "../errors/errors.js";
import type { FormatContext, WireFormat } from "./format.js";
import { JsonRpcFormat } from "./jsonrpc/format.js";
import { OpenMasFormat } from "./openmas/format.js";
import { DEFAULT_OPENMAS_TOPIC_PREFIX } from "./openmas/topics.js";

/** The wire formats a communicator speaks: JSON-RPC 2.0 (OpenMAS's MQTT example) or OpenMAS's built-in MQTT format. */
export type WireFormatName = "jsonrpc" | "openmas";

export const WIRE_FORMATS: readonly WireFormatName[] = ["jsonrpc", "openmas"];

export interface FormatSettings {
  /** This agent's format: how it calls services not in `serviceWireFormats`, and, with `openmas`, what it also serves. */
  wireFormat?: WireFormatName | undefined;
  /** Per target service (a `serviceUrls` key): the format to call it in. */
  serviceWireFormats?: Record<string, WireFormatName> | undefined;
  /** OpenMAS's `topic_prefix`: the first topic level of the OpenMAS format. Default `openmas`. */
  openmasTopicPrefix?: string | undefined;
}

/** The formats of one communicator. */
export interface FormatSet {
  /** Every format it reads, in the order they are asked which topic is theirs. */
  readonly all: readonly WireFormat[];
  /** The format of its own prefix (and of group members' instance topics). */
  readonly primary: WireFormat;
  /** The format calls to `service` go in. */
  of(service: string): WireFormat;
}

/** The formats for these settings. Throws `ConfigurationError` naming a bad value. */
export function createFormats(settings: FormatSettings, context: FormatContext): FormatSet {
  const jsonrpc = new JsonRpcFormat(context);
  const wireFormat = settings.wireFormat ?? "jsonrpc";
  const targets = new Set<string>();
  for (const service of Object.keys(context.serviceUrls)) if (wireFormat === "openmas") targets.add(service);
  for (const [service, format] of Object.entries(settings.serviceWireFormats ?? {})) {
    if (!Object.hasOwn(context.serviceUrls, service)) {
      throw new ConfigurationError(`serviceWireFormats.${service}: ${JSON.stringify(service)} is not in serviceUrls of ${context.agentName}`, { details: { serviceWireFormats: settings.serviceWireFormats } });
    }
    if (format === "openmas") targets.add(service);
    else targets.delete(service);
  }
  const serves = wireFormat === "openmas";
  // openmasTopicPrefix itself was checked with the other options (see `commonOptionsShape`).
  if (!serves && targets.size === 0) return { all: [jsonrpc], primary: jsonrpc, of: () => jsonrpc };
  const openmas = OpenMasFormat.create(settings.openmasTopicPrefix ?? DEFAULT_OPENMAS_TOPIC_PREFIX, serves, targets, context);
  return { all: [jsonrpc, openmas], primary: jsonrpc, of: (service) => (targets.has(service) ? openmas : jsonrpc) };
}
