/**
 * `encodeSchema` takes Zod's plain parse for schemas whose encode would give the same result, and
 * `z.encode` for the rest. These check the split and that both paths agree with `z.encode`.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { z as z3 } from "zod/v3";
import { encodeSchema, isDirectional } from "../src/contract/schema.js";

const isoDate = z.codec(z.iso.datetime(), z.date(), {
  decode: (text) => new Date(text),
  encode: (date) => date.toISOString(),
});

interface Tree {
  name: string;
  children: Tree[];
}
const tree: z.ZodType<Tree> = z.lazy(() => z.object({ name: z.string(), children: z.array(tree) }));

describe("isDirectional", () => {
  it.each([
    ["a plain object", z.object({ message: z.string() })],
    ["nested containers", z.object({ a: z.array(z.tuple([z.number(), z.string()], z.boolean())), b: z.record(z.string(), z.union([z.literal(1), z.null()])) })],
    ["optional, nullable and readonly wrappers", z.object({ a: z.string().optional(), b: z.number().nullable(), c: z.array(z.string()).readonly() })],
    ["checks, including overwrites", z.object({ name: z.string().trim().min(1).toLowerCase(), n: z.number().int().positive() })],
    ["enums, intersections and catchall", z.object({ k: z.enum(["a", "b"]) }).and(z.object({ v: z.number() })).or(z.object({}).catchall(z.string()))],
    ["a recursive lazy schema", tree],
  ])("is false for %s", (_name, schema) => {
    expect(isDirectional(schema)).toBe(false);
  });

  it.each([
    ["a codec", z.object({ at: isoDate })],
    ["a codec deep inside", z.object({ a: z.array(z.object({ b: z.union([z.string(), isoDate]) })) })],
    ["a default", z.object({ speed: z.number().default(1) })],
    ["a prefault", z.object({ speed: z.number().prefault(1) })],
    ["a catch", z.object({ speed: z.number().catch(0) })],
    ["a transform", z.object({ n: z.string().transform((s) => s.length) })],
    ["a pipe", z.object({ n: z.string().pipe(z.string().min(1)) })],
  ])("is true for %s", (_name, schema) => {
    expect(isDirectional(schema)).toBe(true);
  });
});

describe("encodeSchema", () => {
  const cases: [string, z.ZodType, unknown][] = [
    ["a valid plain object", z.object({ message: z.string() }), { message: "hi" }],
    ["an invalid plain object", z.object({ message: z.string() }), { message: 42 }],
    ["unknown keys, stripped", z.object({ message: z.string() }), { message: "hi", extra: true }],
    ["a strict object with an extra key", z.strictObject({ message: z.string() }), { message: "hi", extra: true }],
    ["overwrite checks", z.object({ name: z.string().trim().toLowerCase() }), { name: "  Ada " }],
    ["a failing refinement", z.object({ n: z.number().refine((n) => n % 2 === 0, "must be even") }), { n: 3 }],
    ["a recursive value", tree, { name: "root", children: [{ name: "leaf", children: [] }] }],
    ["a codec", z.object({ at: isoDate }), { at: new Date("2026-11-25T08:00:00.000Z") }],
    ["a default, left out", z.object({ speed: z.number().default(1) }), {}],
  ];
  it.each(cases)("gives what z.encode gives for %s", (_name, schema, value) => {
    const expected = z.safeEncode(schema, value as never);
    const actual = encodeSchema(schema, value);
    expect(actual.success).toBe(expected.success);
    if (actual.success && expected.success) expect(actual.data).toEqual(expected.data);
    if (!actual.success && !expected.success) expect(actual.issues.map((issue) => [issue.path, issue.message])).toEqual(expected.error.issues.map((issue) => [issue.path, issue.message]));
  });

  it("parses zod/v3 schemas", () => {
    expect(encodeSchema(z3.object({ n: z3.number() }), { n: 1 })).toEqual({ success: true, data: { n: 1 } });
    expect(encodeSchema(z3.object({ n: z3.number() }), { n: "1" }).success).toBe(false);
  });
});
