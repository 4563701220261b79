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
 * schemas encode (codecs turn back into their JSON form); `zod/v3` schemas have no codecs and parse.
 */
export function encodeSchema(schema: AnySchema, value: unknown): SchemaResult {
  if (!isZod4(schema)) return parseSchema(schema, value);
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
