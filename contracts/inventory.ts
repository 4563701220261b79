import * as z from "zod/v3";
import { defineService } from "mqtt-contracts";

const Item = z.object({
  sku: z.string().describe("Stock keeping unit"),
  quantity: z.number().int().nonnegative().describe("Units on the shelf"),
  location: z.object({ aisle: z.number().int(), shelf: z.enum(["top", "middle", "bottom"]) }).describe("Where it is stored"),
  tags: z.array(z.string()).default([]),
});

/** A contract written with Zod 3 (`zod/v3`), as older code bases have them. */
export const InventoryService = defineService({
  name: "inventory",
  description: "Stock levels of the warehouse, from a service written against Zod 3.",
  methods: {
    lookup: {
      description: "Find items by SKU prefix.",
      params: z.object({
        prefix: z.string().min(1).describe("SKU prefix to search for"),
        limit: z.number().int().positive().max(100).default(20).describe("At most this many items"),
      }),
      result: z.object({ items: z.array(Item), truncated: z.boolean() }),
    },
    // #region reserve
    reserve: {
      params: z.object({ sku: z.string(), quantity: z.number().int().positive(), note: z.string().optional() }),
      result: z.union([z.object({ reserved: z.literal(true), reservation_id: z.string() }), z.object({ reserved: z.literal(false), available: z.number() })]),
      errors: { UnknownSku: { code: 4404, description: "No item has that SKU.", data: z.object({ sku: z.string() }) } },
    },
    // #endregion reserve
  },
  notifications: {
    restocked: { params: z.object({ sku: z.string(), quantity: z.number().int() }) },
  },
});
