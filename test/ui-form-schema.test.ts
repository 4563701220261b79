/**
 * The schema the UI's form is built from comes from the network (`rpc.discover`): only standard JSON Schema
 * keywords, local refs and primitive enums reach the form library, within bounds.
 */
import { describe, expect, it } from "vitest";
import { paramsSchema, safeSchema } from "../src/ui/page/form-schema.js";

describe("the UI's form schema", () => {
  it("keeps standard keywords and drops the form library's own (links, templates, options) and remote refs", () => {
    const schema = safeSchema({
      type: "object",
      title: "t",
      required: ["a"],
      properties: {
        a: { type: "number", minimum: 0, maximum: 10, default: 3, description: "d", options: { hidden: true }, headerTemplate: "{{x}}" },
        b: { type: "string", format: "url", links: [{ href: "javascript:alert(1)" }], watch: { x: "a" } },
        c: { enum: ["x", { evil: "<b>" }] },
        d: { $ref: "https://example.com/schema.json" },
        e: { $ref: "#/properties/a" },
        f: { type: "string", format: "date-time" },
      },
      "x-custom": 1,
    });
    expect(schema).toEqual({
      type: "object",
      title: "t",
      required: ["a"],
      properties: { a: { type: "number", minimum: 0, maximum: 10, default: 3, description: "d" }, b: { type: "string" }, c: {}, d: {}, e: { $ref: "#/properties/a" }, f: { type: "string", format: "date-time" } },
    });
  });

  it("keeps a property named __proto__ as a property, bounds depth, and builds params from by-name descriptors", () => {
    const hostile = JSON.parse('{"type":"object","properties":{"__proto__":{"type":"string"}}}');
    const schema = safeSchema(hostile) as { properties: Record<string, unknown> };
    expect(Object.keys(schema.properties)).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(schema.properties)).toBe(Object.prototype);
    let deep: Record<string, unknown> = { type: "string" };
    for (let i = 0; i < 100; i++) deep = { type: "object", properties: { x: deep } };
    expect(JSON.stringify(safeSchema(deep)).length).toBeLessThan(JSON.stringify(deep).length);
    expect(paramsSchema([{ name: "message", required: true, schema: { type: "string" } }, { name: "n", schema: { type: "number" } }])).toEqual({
      type: "object",
      title: "params",
      properties: { message: { type: "string" }, n: { type: "number" } },
      required: ["message"],
    });
  });
});
