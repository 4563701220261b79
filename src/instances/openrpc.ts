/**
 * The OpenRPC document a server answers `rpc.discover` with, built from the contracts of its handlers
 * (https://spec.open-rpc.org). Notifications are methods with the `x-notification` extension and no result.
 */
import { sha256Hex } from "../platform/sha256.js";
import type { HandlerOptions, JsonSchema } from "../communicator/types.js";

export const OPENRPC_VERSION = "1.3.2";

export interface ContentDescriptor {
  name: string;
  required?: boolean;
  description?: string;
  schema: JsonSchema;
}

export interface OpenRpcMethod {
  name: string;
  description?: string;
  paramStructure: "by-name";
  params: ContentDescriptor[];
  result?: ContentDescriptor;
  errors?: { code: number; message: string }[];
  /** Answered by nobody: a notification. */
  "x-notification"?: boolean;
  /** The contract (service) the method belongs to. */
  "x-service"?: string;
  /** Registered without a contract: params and result are not known. */
  "x-unchecked"?: boolean;
  /** The method streams: it sends `x-items` items (as `rpc.item` notifications) before its result. */
  "x-stream"?: boolean;
  "x-items"?: ContentDescriptor;
}

export interface OpenRpcDocument {
  openrpc: string;
  info: { title: string; version: string; "x-library": string };
  methods: OpenRpcMethod[];
}

/** Params by name: one content descriptor per property of the params object. */
function paramsOf(schema: JsonSchema): ContentDescriptor[] {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
  return Object.entries(properties).map(([name, property]) => {
    const descriptor: ContentDescriptor = { name, required: required.has(name), schema: property };
    if (typeof property.description === "string") descriptor.description = property.description;
    return descriptor;
  });
}

export function buildOpenRpc(title: string, library: string, handlers: Iterable<[string, HandlerOptions | undefined]>): OpenRpcDocument {
  const methods: OpenRpcMethod[] = [];
  const versions = new Set<string>();
  for (const [name, options] of [...handlers].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const method: OpenRpcMethod = { name, paramStructure: "by-name", params: [] };
    if (options?.description) method.description = options.description;
    if (options?.service) method["x-service"] = options.service;
    if (options?.version) versions.add(options.version);
    if (options?.kind === undefined) {
      method["x-unchecked"] = true;
      method.result = { name: "result", schema: {} };
    } else {
      method.params = paramsOf(options.params ?? {});
      if (options.kind === "notification") method["x-notification"] = true;
      else method.result = { name: "result", schema: options.result ?? {} };
      if (options.items !== undefined) {
        method["x-stream"] = true;
        method["x-items"] = { name: "item", schema: options.items };
      }
      const errors = Object.entries(options.errors ?? {}).map(([errorName, error]) => ({ code: error.code, message: errorName }));
      if (errors.length > 0) method.errors = errors;
    }
    methods.push(method);
  }
  return { openrpc: OPENRPC_VERSION, info: { title, version: versions.size === 0 ? "0.0.0" : [...versions].sort().join(", "), "x-library": library }, methods };
}

/** SHA-256 (hex) of a document: what the discovery record carries instead of the schemas. */
export function digestOf(document: OpenRpcDocument): string {
  return sha256Hex(JSON.stringify(document));
}
