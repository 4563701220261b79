/**
 * Codegen at scale: 100 services × 20 methods.
 *
 *   npm run bench:codegen [-- --services 100 --methods 20 --runs 3]
 *
 * Measures, in a throwaway project:
 *  1. `npm run codegen` wall time;
 *  2. `tsc --noEmit` of a file that calls every method through the generated clients, against the
 *     same file written on `z.infer`/`z.input` chains over the contracts (what users write without
 *     codegen). Both files make the same calls and read the same result fields.
 * Runs each tsc variant `--runs` times, alternating, and reports medians and their ratio.
 * Writes bench/results/codegen-scale.md.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const repo = resolve(import.meta.dirname, "..");
const { values } = parseArgs({
  options: { services: { type: "string", default: "100" }, methods: { type: "string", default: "20" }, runs: { type: "string", default: "3" }, keep: { type: "boolean", default: false } },
});
const services = Number(values.services);
const methods = Number(values.methods);
const runs = Number(values.runs);

const dir = mkdtempSync(join(tmpdir(), "mqtt-contracts-codegen-bench-"));
const log = (message: string) => console.error(`[bench:codegen] ${message}`);

function contractSource(s: number): string {
  const lines = [`import { z } from "zod";`, `import { defineService } from "../src/index.js";`, ``];
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

function generatedUser(): string {
  const lines = [`import * as G from "./generated/index.js";`, `import type { Communicator } from "./src/index.js";`, ``];
  for (let s = 0; s < services; s++) {
    lines.push(`export async function use${s}(communicator: Communicator): Promise<number> {`, `  let sum = 0;`, `  const c = new G.Svc${s}ServiceClient(communicator, "svc${s}");`);
    for (let m = 0; m < methods; m++) lines.push(`  { const r = await c.m${m}(${callArgs(m)}); sum += r.total_${m} + (r.ok_${m} ? 1 : 0) + r.echo_${m}.length + r.tags.length; }`);
    lines.push(`  return sum;`, `}`);
  }
  return lines.join("\n");
}

function inferredUser(): string {
  const lines = [
    `import type { z } from "zod";`,
    `import type { Communicator } from "./src/index.js";`,
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

function tsconfig(file: string): string {
  return JSON.stringify(
    {
      compilerOptions: { target: "ES2022", lib: ["ES2024"], module: "NodeNext", moduleResolution: "NodeNext", types: ["node"], strict: true, skipLibCheck: true, noEmit: true, isolatedModules: true, verbatimModuleSyntax: true },
      files: [file],
    },
    null,
    2,
  );
}

function time(command: string, args: string[]): number {
  const started = performance.now();
  execFileSync(command, args, { cwd: dir, stdio: ["ignore", "ignore", "inherit"] });
  return performance.now() - started;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

try {
  log(`project in ${dir}: ${services} services × ${methods} methods`);
  mkdirSync(join(dir, "contracts"));
  for (let s = 0; s < services; s++) writeFileSync(join(dir, "contracts", `svc${s}.ts`), contractSource(s));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "codegen-bench", type: "module", private: true }));
  writeFileSync(join(dir, "tsconfig.json"), tsconfig("use-generated.ts"));
  writeFileSync(join(dir, "tsconfig.inferred.json"), tsconfig("use-inferred.ts"));
  symlinkSync(join(repo, "node_modules"), join(dir, "node_modules"));
  symlinkSync(join(repo, "src"), join(dir, "src"));

  log("codegen...");
  const codegenRuns: number[] = [];
  const tsx = join(repo, "node_modules", ".bin", "tsx");
  for (let i = 0; i < runs; i++) {
    rmSync(join(dir, "generated"), { recursive: true, force: true });
    codegenRuns.push(time(tsx, ["--conditions=@mqtt-contracts/source", join(repo, "src", "cli", "main.ts"), "codegen", "--runtime", "../src/index.js"]));
    log(`  codegen run ${i + 1}: ${(codegenRuns.at(-1)! / 1000).toFixed(2)} s`);
  }
  writeFileSync(join(dir, "use-generated.ts"), generatedUser());
  writeFileSync(join(dir, "use-inferred.ts"), inferredUser());

  const tsc = join(repo, "node_modules", "typescript", "bin", "tsc");
  const generated: number[] = [];
  const inferred: number[] = [];
  for (let i = 0; i < runs; i++) {
    generated.push(time(process.execPath, [tsc, "-p", "tsconfig.json"]));
    inferred.push(time(process.execPath, [tsc, "-p", "tsconfig.inferred.json"]));
    log(`  tsc run ${i + 1}: generated ${(generated.at(-1)! / 1000).toFixed(2)} s, z.infer ${(inferred.at(-1)! / 1000).toFixed(2)} s`);
  }
  const g = median(generated);
  const inf = median(inferred);
  const cg = median(codegenRuns);
  const table = [
    `## Codegen at scale: ${services} services × ${methods} methods`,
    ``,
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}. Medians of ${runs} runs. Command: \`npm run bench:codegen\`.`,
    ``,
    `| measurement | time | target |`,
    `|---|---|---|`,
    `| \`npm run codegen\` | ${(cg / 1000).toFixed(2)} s | < 10 s |`,
    `| \`tsc --noEmit\`, calls through generated clients | ${(g / 1000).toFixed(2)} s | |`,
    `| \`tsc --noEmit\`, same calls on \`z.infer\` chains | ${(inf / 1000).toFixed(2)} s | |`,
    `| ratio generated / z.infer | ${(g / inf).toFixed(2)}× | ≤ 0.5× (issue 4), ≤ 1.0× (issue 3) |`,
    ``,
  ].join("\n");
  mkdirSync(join(repo, "bench", "results"), { recursive: true });
  writeFileSync(join(repo, "bench", "results", "codegen-scale.md"), table);
  console.log(table);
} finally {
  if (values.keep) log(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
