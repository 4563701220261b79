import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import * as z3 from "zod/v3";
import { zodToJsonSchema } from "zod-to-json-schema";
import { toJsonSchema } from "../src/contract/json-schema.js";
import type { JsonSchema } from "../codegen/model.js";

/** The same params, once in Zod 4 and once in `zod/v3`: every feature the wire schema has to carry. */
const v4 = z.object({
  name: z.string().min(1).describe("Who is asking"),
  mode: z.enum(["fast", "safe"]).default("safe").describe("How to move"),
  goal: z.object({ x: z.number(), y: z.number().optional() }).describe("Where to go"),
  tags: z.array(z.string()).max(3),
  shape: z.union([z.object({ kind: z.literal("ball"), r: z.number() }), z.object({ kind: z.literal("box"), w: z.number() })]),
  id: z.union([z.string(), z.number().int()]),
  label: z.string().nullable(),
  note: z.object({ text: z.string() }).nullable(),
});

const v3 = z3.object({
  name: z3.string().min(1).describe("Who is asking"),
  mode: z3.enum(["fast", "safe"]).default("safe").describe("How to move"),
  goal: z3.object({ x: z3.number(), y: z3.number().optional() }).describe("Where to go"),
  tags: z3.array(z3.string()).max(3),
  shape: z3.union([z3.object({ kind: z3.literal("ball"), r: z3.number() }), z3.object({ kind: z3.literal("box"), w: z3.number() })]),
  id: z3.union([z3.string(), z3.number().int()]),
  label: z3.string().nullable(),
  note: z3.object({ text: z3.string() }).nullable(),
});

describe.each([
  ["Zod 4 (z.toJSONSchema)", v4],
  ["zod/v3 (zod-to-json-schema)", v3],
] as const)("toJsonSchema of %s", (_name, schema) => {
  const json = toJsonSchema(schema);

  it("is a complete object schema without $schema", () => {
    expect(json).not.toHaveProperty("$schema");
    expect(json.type).toBe("object");
    expect(Object.keys(json.properties as object)).toEqual(["name", "mode", "goal", "tags", "shape", "id", "label", "note"]);
  });

  it("requires every field without a default or optional", () => {
    // The wire (input) side: `mode` has a default, so callers may leave it out.
    expect(json.required).toEqual(["name", "goal", "tags", "shape", "id", "label", "note"]);
  });

  it("carries enums, defaults, descriptions and string checks", () => {
    expect(json).toMatchObject({
      properties: {
        name: { type: "string", minLength: 1, description: "Who is asking" },
        mode: { type: "string", enum: ["fast", "safe"], default: "safe", description: "How to move" },
      },
    });
  });

  it("nests objects with their own required list and description", () => {
    expect(json).toMatchObject({
      properties: { goal: { type: "object", properties: { x: { type: "number" }, y: { type: "number" } }, required: ["x"], description: "Where to go" } },
    });
  });

  it("carries arrays with their items and bounds", () => {
    expect(json).toMatchObject({ properties: { tags: { type: "array", items: { type: "string" }, maxItems: 3 } } });
  });

  it("carries unions, object branches included", () => {
    expect(json).toMatchObject({
      properties: {
        shape: {
          anyOf: [
            { type: "object", properties: { kind: { const: "ball" }, r: { type: "number" } }, required: ["kind", "r"] },
            { type: "object", properties: { kind: { const: "box" }, w: { type: "number" } }, required: ["kind", "w"] },
          ],
        },
        id: { anyOf: [{ type: "string" }, { type: "integer" }] },
      },
    });
  });

  it("carries nullable scalars and nullable objects", () => {
    expect(json).toMatchObject({
      properties: {
        label: { type: ["string", "null"] },
        note: { anyOf: [{ type: "object", properties: { text: { type: "string" } }, required: ["text"] }, { type: "null" }] },
      },
    });
  });
});

describe("the two JSON Schema paths", () => {
  it("agree on equivalent schemas, up to two known differences", () => {
    // Both leave non-strict objects open (Zod strips unknown keys rather than refusing them), but
    // zod-to-json-schema spells that `additionalProperties: true`; z.toJSONSchema bounds integers to the safe range.
    const normalise = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(normalise);
      if (typeof value !== "object" || value === null) return value;
      const out: Record<string, unknown> = {};
      for (const [key, inner] of Object.entries(value)) {
        if (key === "additionalProperties" && inner === true) continue; // the JSON Schema default, spelled out by zod-to-json-schema
        if ((key === "minimum" || key === "maximum") && Math.abs(inner as number) === Number.MAX_SAFE_INTEGER) continue;
        out[key] = normalise(inner);
      }
      return out;
    };
    expect(normalise(toJsonSchema(v4))).toEqual(normalise(toJsonSchema(v3)));
  });

  it("never hands a Zod 4 schema to zod-to-json-schema, which silently returns an empty schema for one", () => {
    expect(zodToJsonSchema(v4 as never)).toEqual({ $schema: "http://json-schema.org/draft-07/schema#" });
    expect(zodToJsonSchema(v3)).toHaveProperty("properties.goal.properties.x");
    const json = toJsonSchema(v4);
    expect(Object.keys(json.properties as object)).toHaveLength(8);
  });

  it("describes the wire side of a Zod 4 codec: the encoded string, not the Date", () => {
    const at = z.codec(z.iso.datetime(), z.date(), { decode: (text) => new Date(text), encode: (date) => date.toISOString() });
    expect(toJsonSchema(z.object({ at }))).toMatchObject({ properties: { at: { type: "string", format: "date-time" } }, required: ["at"] });
  });

  it("describes the wire side of a zod/v3 refinement: the refined schema itself", () => {
    const json = toJsonSchema(z3.object({ even: z3.number().int().refine((n) => n % 2 === 0) }));
    expect(json).toMatchObject({ properties: { even: { type: "integer" } }, required: ["even"] });
  });
});

describe("the committed generated/*.schema.json", () => {
  const read = (file: string) => JSON.parse(readFileSync(new URL(`../generated/${file}`, import.meta.url), "utf8")) as JsonSchema & { definitions: Record<string, JsonSchema> };
  const files = { example: read("example.schema.json"), inventory: read("inventory.schema.json"), robot_arm: read("robot_arm.schema.json") };

  it("name their source and hold one definition per params, item (a streaming method's), result and error data", () => {
    expect(Object.fromEntries(Object.entries(files).map(([name, file]) => [name, { $comment: file.$comment, definitions: Object.keys(file.definitions) }]))).toMatchInlineSnapshot(`
      {
        "example": {
          "$comment": "@generated by mqtt-contracts codegen from contracts/example.ts. DO NOT EDIT.",
          "definitions": [
            "ExampleGetStatusParams",
            "ExampleGetStatusResult",
            "ExampleEchoParams",
            "ExampleEchoResult",
            "ExampleLogParams",
          ],
        },
        "inventory": {
          "$comment": "@generated by mqtt-contracts codegen from contracts/inventory.ts. DO NOT EDIT.",
          "definitions": [
            "InventoryLookupParams",
            "InventoryLookupResult",
            "InventoryReserveParams",
            "InventoryReserveResult",
            "InventoryUnknownSkuErrorData",
            "InventoryRestockedParams",
          ],
        },
        "robot_arm": {
          "$comment": "@generated by mqtt-contracts codegen from contracts/robot-arm.ts. DO NOT EDIT.",
          "definitions": [
            "RobotArmMoveToParams",
            "RobotArmMoveToResult",
            "RobotArmOutOfReachErrorData",
            "RobotArmMoveWithFeedbackParams",
            "RobotArmMoveWithFeedbackItem",
            "RobotArmMoveWithFeedbackResult",
            "RobotArmPickParams",
            "RobotArmPickResult",
            "RobotArmNothingThereErrorData",
            "RobotArmJointAnglesParams",
            "RobotArmJointAnglesResult",
            "RobotArmToolInfoParams",
            "RobotArmToolInfoResult",
            "RobotArmStatusChangedParams",
          ],
        },
      }
    `);
  });

  it("never hold an empty schema, and every params is an object with properties", () => {
    for (const file of Object.values(files)) {
      expect(file.$schema).toBe("http://json-schema.org/draft-07/schema#");
      for (const [name, definition] of Object.entries(file.definitions)) {
        expect(Object.keys(definition), name).not.toHaveLength(0);
        if (name.endsWith("Params")) expect(definition, name).toMatchObject({ type: "object", properties: expect.any(Object) });
      }
    }
  });

  it("carry the Zod 4 contract's enums, defaults, descriptions, codecs, unions and nullables", () => {
    const { definitions } = files.robot_arm;
    expect(definitions.RobotArmMoveToParams).toMatchObject({
      required: ["target"],
      properties: {
        target: { type: "object", required: ["x", "y"], description: "A position on the work table", properties: { x: { description: "Metres along the table, from its left edge" } } },
        waypoints: { type: "array", maxItems: 32, default: [], items: { type: "object", required: ["x", "y"] } },
        speed: { type: "string", enum: ["slow", "normal", "fast"], default: "normal", description: "How fast to move" },
        deadline: { type: "string", format: "date-time", description: "Give up if the move cannot finish by then" },
      },
    });
    // A streaming method's items: the yields schema, between its params and its result.
    expect(definitions.RobotArmMoveWithFeedbackItem).toEqual({
      type: "object",
      description: "Where the gripper is on the way",
      required: ["x", "y", "progress"],
      properties: {
        x: { type: "number", description: "Metres along the table, from its left edge" },
        y: { type: "number", description: "Metres across the table, from its front edge" },
        theta: { type: "number", minimum: -Math.PI, maximum: Math.PI, description: "Heading in radians; keep the current one if left out" },
        progress: { type: "number", minimum: 0, maximum: 1, description: "Fraction of the path covered so far" },
      },
    });
    expect(definitions.RobotArmMoveToResult).toMatchObject({ required: ["reached", "duration_ms", "finished_at"], properties: { finished_at: { type: "string", format: "date-time" } } });
    expect(definitions.RobotArmPickParams).toMatchObject({
      required: ["object_id", "shape", "grip", "label"],
      properties: {
        // A discriminated union: exactly one branch matches.
        shape: { oneOf: [{ properties: { kind: { const: "sphere" } } }, { properties: { kind: { const: "box" } } }], description: "What the gripper should expect" },
        grip: { anyOf: [{ const: "soft" }, { const: "firm" }, { type: "number", minimum: 0, maximum: 100 }] },
        label: { type: ["string", "null"], description: "Label to print on the bin, if any" },
      },
    });
    expect(definitions.RobotArmJointAnglesResult).toEqual({ type: "array", items: { type: "number" }, description: "Radians" });
    expect(definitions.RobotArmToolInfoResult).toMatchObject({ anyOf: [{ type: "null" }, { type: "object", required: ["tool", "serial", "meta"] }] });
    expect(definitions.RobotArmStatusChangedParams).toMatchObject({ properties: { state: { enum: ["idle", "moving", "holding", "fault"] } }, required: ["state", "at"] });
  });

  it("carry the zod/v3 contract's required lists, defaults, descriptions, nesting and unions", () => {
    const { definitions } = files.inventory;
    expect(definitions.InventoryLookupParams).toMatchObject({
      type: "object",
      required: ["prefix"],
      properties: {
        prefix: { type: "string", minLength: 1, description: "SKU prefix to search for" },
        limit: { type: "integer", maximum: 100, default: 20, description: "At most this many items" },
      },
    });
    expect(definitions.InventoryLookupResult).toMatchObject({
      required: ["items", "truncated"],
      properties: {
        items: {
          type: "array",
          items: {
            required: ["sku", "quantity", "location"],
            properties: {
              sku: { description: "Stock keeping unit" },
              location: { description: "Where it is stored", properties: { shelf: { enum: ["top", "middle", "bottom"] } } },
              tags: { type: "array", default: [] },
            },
          },
        },
      },
    });
    expect(definitions.InventoryReserveResult).toMatchObject({ anyOf: [{ properties: { reserved: { const: true } } }, { properties: { reserved: { const: false } } }] });
    expect(definitions.InventoryUnknownSkuErrorData).toMatchObject({ required: ["sku"], properties: { sku: { type: "string" } } });
  });

  it("carry the example contract's descriptions", () => {
    expect(files.example.description).toBe("The OpenMAS MQTT example agent: reports its status, echoes messages and logs notifications.");
    expect(files.example.definitions.ExampleEchoParams).toEqual({ type: "object", properties: { message: { type: "string", description: "Text to echo" } }, required: ["message"] });
  });
});
