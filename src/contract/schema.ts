import { z } from "zod";
import type { AnySchema } from "./define-service.js";

/** One validation problem, JSON-safe, as it goes into `error.data.issues`. */
export interface SchemaIssue {
  code?: string;
  path: (string | number)[];
  message: string;
  [key: string]: unknown;
}

export type SchemaResult<T = unknown> = { success: true; data: T } | { success: false; issues: SchemaIssue[] };

/** Is this a Zod 4 schema (as opposed to `zod/v3`)? */
export function isZod4(schema: AnySchema): schema is z.ZodType {
  return "_zod" in schema;
}

/** Parse wire data into the schema's output (defaults applied, codecs decoded). */
export function parseSchema(schema: AnySchema, value: unknown): SchemaResult {
  const result = (schema as { safeParse(value: unknown): { success: boolean; data?: unknown; error?: { issues: unknown[] } } }).safeParse(value);
  return result.success ? { success: true, data: result.data } : { success: false, issues: jsonIssues(result.error!.issues) };
}

/**
 * Turn an output value (what a handler returns) into wire data, validating it on the way: Zod 4
 * schemas with codecs encode (the codecs turn back into their JSON form). Schemas without any part
 * that works differently backwards (most of them) parse, which gives the same result: Zod's encode
 * runs every check twice and skips its compiled fast path for objects, ~50 times slower for a small
 * object. `zod/v3` schemas have no codecs and always parse.
 */
export function encodeSchema(schema: AnySchema, value: unknown): SchemaResult {
  if (!isZod4(schema) || !isDirectional(schema)) return parseSchema(schema, value);
  try {
    return { success: true, data: z.encode(schema, value as never) };
  } catch (error) {
    if (error instanceof z.ZodError) return { success: false, issues: jsonIssues(error.issues) };
    throw error;
  }
}

/** A one-line summary of the first issues, for error messages. */
export function summarizeIssues(issues: readonly SchemaIssue[], max = 3): string {
  const shown = issues.slice(0, max).map((issue) => `${issue.path.length ? issue.path.join(".") : "(root)"}: ${issue.message}`);
  return issues.length > max ? `${shown.join("; ")}; and ${issues.length - max} more` : shown.join("; ");
}

/** Zod issues, made safe for JSON: symbol path keys become strings, bigints become strings. */
function jsonIssues(issues: readonly unknown[]): SchemaIssue[] {
  return issues.map((raw) => {
    const issue = raw as Record<string, unknown> & { path?: PropertyKey[]; message?: string };
    const out: SchemaIssue = {
      path: (issue.path ?? []).map((key) => (typeof key === "symbol" ? String(key) : key)),
      message: String(issue.message ?? "invalid"),
    };
    for (const [key, value] of Object.entries(issue)) {
      if (key === "path" || key === "message" || key === "input" || value === undefined) continue;
      if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") out[key] = value;
      else if (typeof value === "bigint") out[key] = value.toString();
      else if (Array.isArray(value) && value.every((v) => typeof v === "string" || typeof v === "number")) out[key] = value;
    }
    return out;
  });
}

/** Schema kinds whose encode differs from their parse: codecs and pipes, transforms, defaults, prefaults and catches. */
const DIRECTIONAL_TYPES = new Set(["pipe", "transform", "default", "prefault", "catch"]);
/** Schema kinds with no inner schemas. */
const LEAF_TYPES = new Set([
  "string", "number", "int", "boolean", "bigint", "symbol", "null", "undefined", "void", "never", "any", "unknown",
  "date", "enum", "literal", "nan", "file", "template_literal", "custom",
]);
const directional = new WeakMap<z.ZodType, boolean>();

/**
 * Does encoding `schema` differ from parsing it anywhere inside? Kinds this does not know count as
 * directional, so an unknown schema takes the exact (slower) encode path. Memoized per schema.
 */
export function isDirectional(schema: z.ZodType): boolean {
  let known = directional.get(schema);
  if (known === undefined) {
    known = walk(schema, new Set());
    directional.set(schema, known);
  }
  return known;
}

function walk(schema: z.ZodType, seen: Set<z.ZodType>): boolean {
  if (seen.has(schema)) return false; // a recursive schema: its other parts decide
  seen.add(schema);
  const def = schema._zod.def as unknown as ZodDef;
  if (DIRECTIONAL_TYPES.has(def.type)) return true;
  if (LEAF_TYPES.has(def.type)) return false;
  const inner = schemaChildren(def);
  return inner === undefined || inner.some(({ schema: child }) => child !== undefined && walk(child as z.ZodType, seen));
}

/** A Zod 4 schema definition, seen loosely: `type` names the kind, the rest depends on it. */
export type ZodDef = Record<string, unknown> & { type: string };

/** A schema directly inside a container, and where: `.key` of an object, `[]` of an array, `[1]` of a tuple, `{}` of a record. */
export interface SchemaChild {
  path: string;
  /** Declared as a schema; a broken contract may hold anything here (e.g. `z.number` uncalled). */
  schema: unknown;
}

/**
 * The schemas directly inside a Zod 4 container schema; `[]` for a leaf kind, undefined for a kind
 * this does not know. Optional parts (a catchall, a rest) are left out when absent.
 */
export function schemaChildren(def: ZodDef): SchemaChild[] | undefined {
  if (LEAF_TYPES.has(def.type)) return [];
  const at = (path: string, schema: unknown): SchemaChild => ({ path, schema });
  switch (def.type) {
    case "object": {
      const children = Object.entries(def.shape as Record<string, unknown>).map(([key, schema]) => at(`.${key}`, schema));
      return def.catchall === undefined ? children : [...children, at("{}", def.catchall)];
    }
    case "array":
      return [at("[]", def.element)];
    case "tuple": {
      const children = (def.items as unknown[]).map((schema, i) => at(`[${i}]`, schema));
      return def.rest === undefined || def.rest === null ? children : [...children, at("[]", def.rest)];
    }
    case "record":
    case "map":
      return [at("{key}", def.keyType), at("{}", def.valueType)];
    case "set":
      return [at("[]", def.valueType)];
    case "union":
      return (def.options as unknown[]).map((schema) => at("", schema));
    case "intersection":
      return [at("", def.left), at("", def.right)];
    case "pipe":
      return [at("", def.in), at("", def.out)];
    case "optional":
    case "nullable":
    case "nonoptional":
    case "readonly":
    case "success":
    case "promise":
    case "default":
    case "prefault":
    case "catch":
      return [at("", def.innerType)];
    case "lazy":
      return [at("", (def.getter as () => unknown)())];
    default:
      return undefined;
  }
}
