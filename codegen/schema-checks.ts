import { z } from "zod";
import { schemaChildren, type ZodDef } from "../src/contract/schema.js";

/** Something in a contract's schema that is not a schema this runtime can use, with the field path where it sits. */
export interface SchemaProblem {
  /** Relative to the contract field: `""` for the field itself, `.goal.at`, `.steps[]`. */
  path: string;
  message: string;
}

const ONE_ZOD_HINT = "install a single zod: it is a peer dependency of mqtt-contracts (`npm ls zod` lists the copies)";

/**
 * Check that `value` is a Zod schema, made by the same zod as mqtt-contracts uses, all the way down.
 * Runs before anything else looks inside a schema, so that a slip like `z.number` (not called) gets a
 * located message instead of a crash deep inside zod.
 */
export function schemaProblems(value: unknown): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  const seen = new Set<unknown>();
  const visit = (schema: unknown, path: string): void => {
    if (seen.has(schema)) return;
    seen.add(schema);
    const problem = notASchema(schema);
    if (problem !== undefined || typeof schema !== "object" || schema === null) {
      problems.push({ path, message: problem ?? "must be a Zod schema" });
      return;
    }
    if (!isZod4Object(schema)) {
      const foreign = foreignZod3(schema);
      if (foreign !== undefined) problems.push({ path, message: foreign });
      return; // zod/v3 schemas: the JSON check walks them and skips what is not a schema
    }
    const foreign = foreignZod4(schema);
    if (foreign !== undefined) {
      problems.push({ path, message: foreign });
      return;
    }
    for (const child of schemaChildren(schema._zod.def as unknown as ZodDef) ?? []) visit(child.schema, `${path}${child.path}`);
  };
  visit(value, "");
  return problems;
}

/** Why `value` is not a schema at all, or undefined when it is one (of some zod). */
function notASchema(value: unknown): string | undefined {
  if (typeof value === "function") {
    const name = value.name && /^[a-z]\w*$/i.test(value.name) ? value.name : undefined;
    return name && name in z
      ? `is the function z.${name}, not a schema: call it, z.${name}()`
      : `is a function, not a Zod schema${name ? ` (${name})` : ""}`;
  }
  if (typeof value !== "object" || value === null) return `must be a Zod schema, got ${value === null ? "null" : typeof value}`;
  if (!("_zod" in value) && !("_def" in value)) return "must be a Zod schema, got a plain object (wrap it: z.object({...}))";
  return undefined;
}

function isZod4Object(value: object): value is z.ZodType {
  return "_zod" in value;
}

/**
 * A Zod 4 schema's constructor is the one zod exports under the same name, unless another copy of zod
 * made it. Such a schema is refused when that copy is a different version, or is not zod's classic API
 * (`zod/mini` schemas lack the methods the runtime calls). The same version in another module format (the
 * CommonJS build beside the ES module one, in a CommonJS project) behaves identically and is accepted.
 */
function foreignZod4(schema: z.ZodType): string | undefined {
  const internals = schema._zod as unknown as { constr?: { name?: string }; version?: { major: number; minor: number; patch: number } };
  const name = internals.constr?.name;
  if (name !== undefined && (z as unknown as Record<string, unknown>)[name] === internals.constr) return undefined;
  const theirs = internals.version ? `${internals.version.major}.${internals.version.minor}.${internals.version.patch}` : "unknown";
  const ours = `${z.core.version.major}.${z.core.version.minor}.${z.core.version.patch}`;
  if (name !== undefined && name in z && theirs === ours && typeof (schema as { safeParse?: unknown }).safeParse === "function") return undefined;
  if (typeof (schema as { safeParse?: unknown }).safeParse !== "function") {
    return `was built with zod/mini (${name ?? "unknown kind"}); contracts need zod's classic API: import { z } from "zod"`;
  }
  return `was built by a second copy of zod (version ${theirs}), not the zod ${ours} that mqtt-contracts uses: ${ONE_ZOD_HINT}`;
}

/**
 * `zod/v3` schemas are used through their own methods and their `_def`, which every zod 3 since 3.0 has,
 * from whichever copy: one is refused only when it lacks them.
 */
function foreignZod3(schema: object): string | undefined {
  const def = (schema as { _def?: { typeName?: unknown } })._def;
  if (typeof def?.typeName === "string" && typeof (schema as { safeParse?: unknown }).safeParse === "function") return undefined;
  return `is not a schema mqtt-contracts can use (neither a zod 4 schema nor a zod/v3 one): ${ONE_ZOD_HINT}`;
}
