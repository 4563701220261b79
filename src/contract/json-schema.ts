import { z } from "zod";
import type { zodToJsonSchema as ZodToJsonSchema } from "zod-to-json-schema";
import type { AnySchema } from "./define-service.js";
import { isZod4 } from "./schema.js";
import type { createRequire as CreateRequire } from "node:module";
import { nodeBuiltin } from "../platform/runtime.js";

import type { JsonSchema } from "../communicator/types.js";

export type { JsonSchema };

/**
 * The JSON Schema (draft-07) of a schema's wire form (its input side). Zod 4 schemas go through
 * `z.toJSONSchema`; `zod/v3` schemas through zod-to-json-schema, which must never see a Zod 4
 * schema: it silently returns `{}` for one.
 */
export function toJsonSchema(schema: AnySchema): JsonSchema {
  const json = isZod4(schema)
    ? (z.toJSONSchema(schema, { io: "input", target: "draft-7", unrepresentable: "throw" }) as JsonSchema)
    : // "strict": only .strict() objects get additionalProperties false; zod/v3 strips unknown keys, it does not refuse them.
      // Recursive v3 schemas need $ref: "seen" points repeats back at their first occurrence.
      (loadZodToJsonSchema()(schema, { target: "jsonSchema7", $refStrategy: "seen", effectStrategy: "input", removeAdditionalStrategy: "strict" }) as JsonSchema);
  delete json.$schema;
  return json;
}

let zodToJsonSchema: typeof ZodToJsonSchema | undefined;

/**
 * zod-to-json-schema, loaded on the first `zod/v3` schema: the runtime describes its contracts with this
 * module (`rpc.discover`), and importing the runtime must not load what only v3 contracts need.
 */
function loadZodToJsonSchema(): typeof ZodToJsonSchema {
  if (zodToJsonSchema !== undefined) return zodToJsonSchema;
  // Loaded synchronously through Node's require: in a browser bundle there is none, and zod/v3 schemas get no JSON Schema there.
  const createRequire = nodeBuiltin<{ createRequire: typeof CreateRequire }>("node:module")?.createRequire;
  if (createRequire === undefined) throw new Error("the JSON Schema of a zod/v3 schema is made in Node only (zod-to-json-schema); use Zod 4 schemas in a browser");
  return (zodToJsonSchema = (createRequire(import.meta.url)("zod-to-json-schema") as { zodToJsonSchema: typeof ZodToJsonSchema }).zodToJsonSchema);
}

/** The JSON Schema of a contract schema for `rpc.discover`; `{}` (anything) with a note when it has no JSON Schema form. */
export function describeSchema(schema: AnySchema): JsonSchema {
  try {
    return toJsonSchema(schema);
  } catch (error) {
    return { description: `no JSON Schema form: ${(error as Error).message}` };
  }
}
