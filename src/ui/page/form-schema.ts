/**
 * The params schema a form is built from. It comes from the network (a service's `rpc.discover`), and the form
 * library also reads keywords of its own (`options`, `links`, `headerTemplate`, `watch`...) that can put
 * links, templates and styles into the page. So the schema is rebuilt from standard JSON Schema keywords
 * only, with local `$ref`s only, and within bounds of depth and size.
 */
import type { ContentDescriptor } from "../../instances/openrpc.js";

type Json = Record<string, unknown>;

const SCHEMA_KEYWORDS = new Set(["type", "title", "description", "default", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minLength", "maxLength", "pattern", "minItems", "maxItems", "uniqueItems", "required", "nullable", "minProperties", "maxProperties"]);
const SUBSCHEMA_MAPS = new Set(["properties", "$defs", "definitions", "patternProperties"]);
const SUBSCHEMA_LISTS = new Set(["anyOf", "oneOf", "allOf", "prefixItems"]);
const SUBSCHEMA_ONE = new Set(["items", "additionalProperties", "not"]);
/** Formats the form library renders as plain inputs; others (html, markdown, url links, ...) are dropped. */
const FORMATS = new Set(["date-time", "date", "time", "email", "uuid", "ipv4", "ipv6", "hostname", "uri", "regex"]);
const MAX_DEPTH = 24;
const MAX_NODES = 5_000;
const MAX_TEXT = 2_000;

/** The params object's schema, from its by-name content descriptors. */
export function paramsSchema(params: readonly ContentDescriptor[]): Json {
  const properties: Json = {};
  const required: string[] = [];
  for (const param of params) {
    properties[param.name] = param.schema;
    if (param.required) required.push(param.name);
  }
  return safeSchema({ type: "object", title: "params", properties, required });
}

/** `schema` with only standard keywords, local refs, primitive enums, bounded text, depth and size. */
export function safeSchema(schema: unknown): Json {
  const budget = { nodes: MAX_NODES };
  return (clean(schema, 0, budget) as Json | undefined) ?? {};
}

function clean(node: unknown, depth: number, budget: { nodes: number }): Json | boolean | undefined {
  if (typeof node === "boolean") return node;
  if (node === null || typeof node !== "object" || Array.isArray(node) || depth > MAX_DEPTH || --budget.nodes < 0) return undefined;
  const out: Json = {};
  for (const [key, value] of Object.entries(node as Json)) {
    if (SCHEMA_KEYWORDS.has(key)) {
      const kept = plainValue(value, 0);
      if (kept !== undefined) out[key] = kept;
    } else if (key === "format") {
      if (typeof value === "string" && FORMATS.has(value)) out.format = value;
    } else if (key === "$ref") {
      if (typeof value === "string" && value.startsWith("#") && value.length <= MAX_TEXT) out.$ref = value;
    } else if (key === "enum") {
      if (Array.isArray(value) && value.length <= 1_000 && value.every(isPrimitive)) out.enum = value.map(cut);
    } else if (key === "const") {
      if (isPrimitive(value)) out.const = cut(value);
    } else if (SUBSCHEMA_ONE.has(key)) {
      const kept = clean(value, depth + 1, budget);
      if (kept !== undefined) out[key] = kept;
    } else if (SUBSCHEMA_LISTS.has(key)) {
      if (Array.isArray(value)) out[key] = value.slice(0, 100).map((item) => clean(item, depth + 1, budget) ?? {});
    } else if (SUBSCHEMA_MAPS.has(key)) {
      if (value === null || typeof value !== "object" || Array.isArray(value)) continue;
      const map: Json = {};
      for (const [name, sub] of Object.entries(value as Json).slice(0, 500)) {
        const kept = clean(sub, depth + 1, budget);
        if (kept !== undefined) put(map, cut(name), kept);
      }
      out[key] = map;
    }
    // Anything else (options, links, headerTemplate, watch, media, x-...) is left out.
  }
  return out;
}

function isPrimitive(value: unknown): value is string | number | boolean | null {
  return value === null || typeof value === "string" || typeof value === "number" || typeof value === "boolean";
}

function cut<T>(value: T): T {
  return (typeof value === "string" && value.length > MAX_TEXT ? value.slice(0, MAX_TEXT) : value) as T;
}

/** A JSON value (a default, a list of required names) within bounds. */
function plainValue(value: unknown, depth: number): unknown {
  if (isPrimitive(value)) return cut(value);
  if (depth > 8) return undefined;
  if (Array.isArray(value)) return value.slice(0, 200).map((item) => plainValue(item, depth + 1));
  if (typeof value === "object") {
    const out: Json = {};
    for (const [key, item] of Object.entries(value as Json).slice(0, 200)) put(out, cut(key), plainValue(item, depth + 1));
    return out;
  }
  return undefined;
}

/** Set an own property, even one named `__proto__`, without touching the prototype. */
function put(target: Json, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
