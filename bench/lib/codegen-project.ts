/** The synthetic project `bench:codegen` generates from: contracts, and code that calls every method. */

/** Contract `svc<s>`: `methods` methods with nested params, defaults, enums, arrays and descriptions. */
export function contractSource(s: number, methods: number): string {
  const lines = [`import { z } from "zod";`, `import { defineService } from "mqtt-contracts";`, ``];
  lines.push(`export const Service${s} = defineService({`, `  name: "svc${s}",`, `  description: "Synthetic service ${s}",`, `  methods: {`);
  for (let m = 0; m < methods; m++) {
    lines.push(
      `    m${m}: {`,
      `      description: "Method ${m} of service ${s}",`,
      `      params: z.object({`,
      `        id_${m}: z.string().describe("identifier"),`,
      `        count_${m}: z.number().int().default(1),`,
      `        mode_${m}: z.enum(["a", "b", "c"]),`,
      `        where_${m}: z.object({ x: z.number(), y: z.number(), label: z.string().optional() }),`,
      `        items_${m}: z.array(z.object({ sku: z.string(), qty: z.number() })).optional(),`,
      `      }),`,
      `      result: z.object({ ok_${m}: z.boolean(), total_${m}: z.number(), echo_${m}: z.string(), tags: z.array(z.string()) }),`,
      `    },`,
    );
  }
  lines.push(`  },`, `});`, ``);
  return lines.join("\n");
}

function callArgs(m: number): string {
  return `{ id_${m}: "x", mode_${m}: "b", where_${m}: { x: 1, y: 2 } }`;
}

/** Every method called through the generated clients, reading each result's fields. */
export function callsThroughClients(services: number, methods: number): string {
  const lines = [`import * as G from "./generated/index.js";`, `import type { Communicator } from "mqtt-contracts";`, ``];
  for (let s = 0; s < services; s++) {
    lines.push(`export async function use${s}(communicator: Communicator): Promise<number> {`, `  let sum = 0;`, `  const c = new G.Svc${s}ServiceClient(communicator, "svc${s}");`);
    for (let m = 0; m < methods; m++) lines.push(`  { const r = await c.m${m}(${callArgs(m)}); sum += r.total_${m} + (r.ok_${m} ? 1 : 0) + r.echo_${m}.length + r.tags.length; }`);
    lines.push(`  return sum;`, `}`);
  }
  return lines.join("\n");
}

/** The same calls on `z.input` / `z.infer` chains over the contracts: what users write without codegen. */
export function callsThroughInference(services: number, methods: number): string {
  const lines = [
    `import type { z } from "zod";`,
    `import type { Communicator } from "mqtt-contracts";`,
    ...Array.from({ length: services }, (_, s) => `import { Service${s} } from "./contracts/svc${s}.js";`),
    ``,
    `type Methods<C> = C extends { methods: infer M } ? M : never;`,
    `/** A client typed straight from the contract with z.input / z.infer: no codegen. */`,
    `function client<C extends { methods: Record<string, { params: z.ZodType; result: z.ZodType }> }>(communicator: Communicator, _contract: C, target: string) {`,
    `  return {`,
    `    call<M extends keyof Methods<C> & string>(method: M, params: z.input<Methods<C>[M]["params"]>): Promise<z.infer<Methods<C>[M]["result"]>> {`,
    `      return communicator.sendRequest(target, method, params as Record<string, unknown>);`,
    `    },`,
    `  };`,
    `}`,
    ``,
  ];
  for (let s = 0; s < services; s++) {
    lines.push(`export async function use${s}(communicator: Communicator): Promise<number> {`, `  let sum = 0;`, `  const c = client(communicator, Service${s}, "svc${s}");`);
    for (let m = 0; m < methods; m++) lines.push(`  { const r = await c.call("m${m}", ${callArgs(m)}); sum += r.total_${m} + (r.ok_${m} ? 1 : 0) + r.echo_${m}.length + r.tags.length; }`);
    lines.push(`  return sum;`, `}`);
  }
  return lines.join("\n");
}
