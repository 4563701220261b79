import type { JsonSchema } from "./model.js";

const DEFINITION_POINTERS = ["#/definitions/", "#/$defs/"] as const;
/** Keywords whose values are data, not schemas: `$ref` inside them is not a reference. */
const DATA_KEYWORDS = new Set(["const", "enum", "default", "examples", "example"]);
/** Keywords whose values map names to schemas: their keys are names, not keywords. */
const NAME_MAPS = new Set(["properties", "patternProperties", "definitions", "$defs", "dependencies"]);

/**
 * Inline `schema` into the document. Its `definitions`/`$defs` go to `schemas` under `ns.<name>`,
 * and every `$ref` to them (or to the schema's root, `#`) is rewritten, because inside the bigger
 * document `#` means the document.
 */
export function embedSchema(schema: JsonSchema, ns: string, schemas: Record<string, JsonSchema>): JsonSchema {
  const { definitions, $defs, ...root } = schema;
  const targets = new Map<string, string>();
  const used = new Set<string>();
  const pending: [string, unknown][] = [];
  for (const [pointer, defs] of [[DEFINITION_POINTERS[0], definitions], [DEFINITION_POINTERS[1], $defs]] as const) {
    if (!isObject(defs)) continue;
    for (const [name, def] of Object.entries(defs)) {
      let key = `${ns}.${name.replace(/[^A-Za-z0-9_-]/g, "_")}`;
      for (let i = 2; used.has(key); i++) key = `${ns}.${name.replace(/[^A-Za-z0-9_-]/g, "_")}_${i}`;
      used.add(key);
      const token = escapePointer(name);
      for (const form of new Set([token, encodeURI(token)])) targets.set(`${pointer}${form}`, `#/components/schemas/${key}`);
      pending.push([key, def]);
    }
  }
  let rootUsed = false;
  const rewrite = (ref: string): string => {
    if (ref === "#") {
      rootUsed = true;
      return `#/components/schemas/${ns}`;
    }
    for (const [from, to] of targets) {
      if (ref === from || ref.startsWith(`${from}/`)) return to + ref.slice(from.length);
    }
    return ref;
  };
  for (const [key, def] of pending) schemas[key] = rewriteRefs(def, rewrite, undefined) as JsonSchema;
  const embedded = rewriteRefs(root, rewrite, undefined) as JsonSchema;
  if (!rootUsed) return embedded;
  schemas[ns] = embedded;
  return { $ref: `#/components/schemas/${ns}` };
}

/** A deep copy of a schema with every `$ref` string passed through `rewrite`. */
function rewriteRefs(node: unknown, rewrite: (ref: string) => string, parentKey: string | undefined): unknown {
  if (Array.isArray(node)) return node.map((item) => rewriteRefs(item, rewrite, parentKey));
  if (!isObject(node)) return node;
  const inNameMap = parentKey !== undefined && NAME_MAPS.has(parentKey);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (inNameMap) out[key] = rewriteRefs(value, rewrite, undefined);
    else if (key === "$ref" && typeof value === "string") out[key] = rewrite(value);
    else if (DATA_KEYWORDS.has(key)) out[key] = structuredClone(value);
    else out[key] = rewriteRefs(value, rewrite, key);
  }
  return out;
}

/** A name as a JSON Pointer token inside a URI fragment, the way Zod and zod-to-json-schema write it. */
function escapePointer(name: string): string {
  return name.replace(/~/g, "~0").replace(/\//g, "~1");
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
