import { z } from "zod";
import type { AnySchema } from "../src/contract/define-service.js";
import { isZod4 } from "../src/contract/schema.js";

/** A part of a schema that JSON cannot carry, with the field path where it sits (`goal.at`, `items[]`). */
export interface JsonProblem {
  path: string;
  message: string;
}

const ENCODING_HINT = "declare an encoding, e.g. z.iso.datetime() or a z.codec() from a JSON type";

/** Zod kinds whose values JSON cannot carry, and what to say about them. */
const NOT_JSON: Record<string, string> = {
  date: `a Date cannot be carried by JSON (${ENCODING_HINT})`,
  bigint: `a bigint cannot be carried by JSON (${ENCODING_HINT})`,
  symbol: "a symbol cannot be carried by JSON",
  function: "a function cannot be carried by JSON",
  promise: "a promise cannot be carried by JSON",
  map: "a Map cannot be carried by JSON (use z.record())",
  set: "a Set cannot be carried by JSON (use z.array())",
  undefined: "undefined cannot be carried by JSON (use z.null() or .optional())",
  void: "void cannot be carried by JSON (use z.null())",
  nan: "NaN cannot be carried by JSON",
  custom: "a z.custom() schema has no JSON form",
  file: "a File cannot be carried by JSON",
  transform: `a transform cannot be carried by JSON: its output has no wire form (${ENCODING_HINT} instead)`,
};

/** Every part of `schema` that JSON cannot carry. Empty when the schema is JSON-representable. */
export function jsonProblems(schema: AnySchema): JsonProblem[] {
  return isZod4(schema) ? zod4Problems(schema) : zod3Problems(schema);
}

function zod4Problems(schema: z.ZodType): JsonProblem[] {
  const problems: JsonProblem[] = [];
  z.toJSONSchema(schema, {
    io: "input",
    unrepresentable: "any",
    cycles: "ref",
    override: (ctx) => {
      const def = (ctx.zodSchema as unknown as { _zod: { def: Record<string, any> } })._zod.def;
      const path = fieldPath(ctx.path);
      const message = NOT_JSON[def.type as string];
      if (message) problems.push({ path, message });
      if (def.type === "literal") problems.push(...literalProblems(def.values as unknown[], path));
      if (def.type === "pipe" && !("reverseTransform" in def)) {
        // `.transform()` is pipe(schema, transform); `z.preprocess()` is pipe(transform, schema). In
        // input mode toJSONSchema visits neither transform, so look at the ends of the pipe here.
        if (def.out?._zod?.def?.type === "transform" || def.in?._zod?.def?.type === "transform") {
          problems.push({ path, message: NOT_JSON.transform! });
        }
      }
    },
  });
  // toJSONSchema runs `override` over the schemas it saw in reverse; report them in declaration order.
  return problems.reverse();
}

/** `z.literal(1n)` and `z.literal(undefined)` are literal schemas, but their values have no JSON form. */
function literalProblems(values: readonly unknown[], path: string): JsonProblem[] {
  const problems: JsonProblem[] = [];
  if (values.some((value) => typeof value === "bigint")) problems.push({ path, message: NOT_JSON.bigint! });
  if (values.some((value) => value === undefined)) problems.push({ path, message: NOT_JSON.undefined! });
  return problems;
}

/** `["properties","goal","properties","at"]` → `goal.at`; array items become `[]`. */
function fieldPath(jsonPath: readonly (string | number)[]): string {
  let out = "";
  for (let i = 0; i < jsonPath.length; i++) {
    const key = jsonPath[i];
    if (key === "properties" || key === "patternProperties") {
      out += out ? `.${String(jsonPath[++i])}` : String(jsonPath[++i]);
    } else if (key === "items" || key === "additionalItems") {
      out += "[]";
    } else if (key === "prefixItems") {
      out += `[${String(jsonPath[++i])}]`;
    } else if (key === "additionalProperties") {
      out += "{}";
    } else if (key === "anyOf" || key === "oneOf" || key === "allOf") {
      i++; // a union branch: the field path does not change
    }
  }
  return out;
}

/** The `zod/v3` walk: zod-to-json-schema does not refuse these, so find them ourselves. */
function zod3Problems(root: AnySchema): JsonProblem[] {
  const problems: JsonProblem[] = [];
  const seen = new Set<unknown>();
  const V3_KINDS: Record<string, string> = {
    ZodDate: "date", ZodBigInt: "bigint", ZodSymbol: "symbol", ZodFunction: "function", ZodPromise: "promise",
    ZodMap: "map", ZodSet: "set", ZodUndefined: "undefined", ZodVoid: "void", ZodNaN: "nan",
  };
  const walk = (schema: any, path: string): void => {
    if (!schema?._def || seen.has(schema)) return;
    seen.add(schema);
    const def = schema._def;
    const kind = V3_KINDS[def.typeName as string];
    if (kind) problems.push({ path, message: NOT_JSON[kind]! });
    if (def.typeName === "ZodLiteral") problems.push(...literalProblems([def.value], path));
    switch (def.typeName) {
      case "ZodObject":
        for (const [key, value] of Object.entries(def.shape())) walk(value, path ? `${path}.${key}` : key);
        if (def.catchall?._def?.typeName !== "ZodNever") walk(def.catchall, `${path}{}`);
        return;
      case "ZodArray":
        return walk(def.type, `${path}[]`);
      case "ZodTuple":
        def.items.forEach((item: unknown, i: number) => walk(item, `${path}[${i}]`));
        return walk(def.rest, `${path}[]`);
      case "ZodRecord":
        return walk(def.valueType, `${path}{}`);
      case "ZodUnion":
      case "ZodDiscriminatedUnion":
        for (const option of def.options instanceof Map ? def.options.values() : def.options) walk(option, path);
        return;
      case "ZodIntersection":
        walk(def.left, path);
        return walk(def.right, path);
      case "ZodOptional":
      case "ZodNullable":
      case "ZodDefault":
      case "ZodCatch":
      case "ZodReadonly":
        return walk(def.innerType, path);
      case "ZodBranded":
        return walk(def.type, path);
      case "ZodLazy":
        return walk(def.getter(), path);
      case "ZodPipeline":
        walk(def.in, path);
        return walk(def.out, path);
      case "ZodEffects":
        if (def.effect?.type !== "refinement") problems.push({ path, message: NOT_JSON.transform! });
        return walk(def.schema, path);
    }
  };
  walk(root, "");
  return problems;
}
