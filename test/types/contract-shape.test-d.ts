/**
 * A contract field that is not a schema is a compile error, with the cheap structural check that
 * `defineService` makes (`SchemaLike`): each `@ts-expect-error` fails the type check if the line below
 * it compiles.
 */
import { describe, expectTypeOf, it } from "vitest";
import { z } from "zod";
import * as z3 from "zod/v3";
import { defineService } from "mqtt-contracts";

describe("contract shape", () => {
  it("takes Zod 4 and zod/v3 schemas, and keeps their types", () => {
    const Shop = defineService({
      name: "shop",
      methods: {
        buy: { params: z.object({ sku: z.string() }), result: z.number(), errors: { Gone: { code: 4001, data: z.object({ sku: z.string() }) } } },
        old: { params: z3.object({ n: z3.number() }), result: z3.array(z3.string()) },
        watch: { params: z.object({}), yields: z.string(), result: z.null() },
      },
      notifications: { restocked: { params: z.object({ sku: z.string() }) } },
    });
    expectTypeOf<z.output<typeof Shop.methods.buy.params>>().toEqualTypeOf<{ sku: string }>();
    expectTypeOf<z3.output<typeof Shop.methods.old.result>>().toEqualTypeOf<string[]>();
  });

  it("refuses what is not a schema where one belongs", () => {
    defineService({
      name: "bad",
      methods: {
        // @ts-expect-error: params must be a z.object(...), not a plain shape
        shape: { params: { sku: z.string() }, result: z.number() },
        // @ts-expect-error: params must be an object schema
        scalar: { params: z.string(), result: z.number() },
        // @ts-expect-error: result must be a schema, not a plain object
        plain: { params: z.object({}), result: { ok: true } },
        // @ts-expect-error: a schema factory, not a schema
        factory: { params: z.object({}), result: z.number },
        // @ts-expect-error: error data must be a schema
        failing: { params: z.object({}), result: z.null(), errors: { Gone: { code: 4001, data: { sku: "x" } } } },
      },
      // @ts-expect-error: notification params must be an object schema
      notifications: { ping: { params: z.null() } },
    });
  });
});
