import { posix, resolve } from "node:path";
import { generate } from "./generate.js";
import { loadContracts } from "./load-contracts.js";
import type { GeneratedFile } from "./model.js";
import { staleFiles, writeStale, type Staleness } from "./output.js";

export interface CodegenOptions {
  /** The project root; other paths are relative to it. Default: the working directory. */
  root?: string;
  /** Default `contracts`. */
  contractsDir?: string;
  /** Default `generated`. */
  outDir?: string;
  /** Compare only: write nothing. Default false. */
  check?: boolean;
  /** How generated code imports the runtime. Default `mqtt-contracts`. */
  runtimeImport?: string;
  /** A tsconfig whose module resolution codegen borrows. Default `<root>/tsconfig.json` when it exists. */
  tsConfigFilePath?: string;
}

export interface CodegenResult {
  /** Every generated file, in memory. */
  files: GeneratedFile[];
  /** Posix output folder relative to the root, e.g. `generated`. */
  outDir: string;
  /** How the output folder differed before this run (after it, when not `check`, it is up to date). */
  stale: Staleness;
  /** Paths that were (or, with `check`, would be) written or removed. */
  updated: string[];
}

/**
 * Load the contracts, generate, and compare with (or update) the output folder. Throws a
 * `ContractsError` for contracts that cannot be generated; nothing is written then.
 */
export async function runCodegen(options: CodegenOptions = {}): Promise<CodegenResult> {
  const root = resolve(options.root ?? process.cwd());
  const outDir = posix.normalize((options.outDir ?? "generated").split("\\").join("/")).replace(/\/$/, "");
  const model = await loadContracts({
    root,
    contractsDir: resolve(root, options.contractsDir ?? "contracts"),
    ...(options.tsConfigFilePath === undefined ? {} : { tsConfigFilePath: options.tsConfigFilePath }),
  });
  const files = generate(model, { outDir, runtimeImport: options.runtimeImport ?? "mqtt-contracts" });
  const stale = await staleFiles(root, outDir, files);
  if (!options.check) await writeStale(root, files, stale);
  return { files, outDir, stale, updated: [...stale.changed, ...stale.missing, ...stale.extra] };
}
