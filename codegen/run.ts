import { existsSync } from "node:fs";
import { posix, relative, resolve } from "node:path";
import { cacheFilePath, readCache, writeCache, type CacheEntry } from "./cache.js";
import { ImportGraph, runContext } from "./cache-key.js";
import { toPosix } from "./import-path.js";
import { listContractModules } from "./list-modules.js";
import type { GeneratedFile, ServiceModel } from "./model.js";
import { staleFiles, writeStale, type Staleness } from "./output.js";
import { sharedFiles } from "./shared-files.js";

export interface CodegenOptions {
  /** The project root; other paths are relative to it. Default: the working directory. */
  root?: string;
  /** Default `contracts`. */
  contractsDir?: string;
  /** Default `generated`. */
  outDir?: string;
  /** Compare only: write nothing to the output folder. Default false. */
  check?: boolean;
  /** How generated code imports the runtime. Default `mqtt-contracts`. */
  runtimeImport?: string;
  /** A tsconfig whose module resolution codegen borrows. Default `<root>/tsconfig.json` when it exists. */
  tsConfigFilePath?: string;
  /**
   * Reuse the output of contract modules that did not change (nor did what they import, nor the versions
   * of mqtt-contracts, zod and TypeScript). Default true.
   */
  cache?: boolean;
  /** Where the cache lives. Default `<root>/node_modules/.cache/mqtt-contracts` when `<root>/node_modules` exists (no cache otherwise). */
  cacheDir?: string;
  /** Told what is going on, e.g. `importing 40/100 contract modules`, for a progress line. */
  onProgress?: (line: string) => void;
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
  /** What the cache did; absent when it was off. */
  cache?: CacheReport;
}

export interface CacheReport {
  /** The cache file. */
  path: string;
  /** Contract modules whose output came from the cache, of `modules`. */
  reused: number;
  modules: number;
  /** Why the cache file was not used, or could not be written: it is never trusted when in doubt. */
  notes: string[];
}

/**
 * Load the contracts, generate, and compare with (or update) the output folder. Throws a
 * `ContractsError` for contracts that cannot be generated; nothing is written then.
 */
export async function runCodegen(options: CodegenOptions = {}): Promise<CodegenResult> {
  const root = resolve(options.root ?? process.cwd());
  const outDir = posix.normalize((options.outDir ?? "generated").split("\\").join("/")).replace(/\/$/, "");
  const runtimeImport = options.runtimeImport ?? "mqtt-contracts";
  const contractsDir = resolve(root, options.contractsDir ?? "contracts");
  const modules = await listContractModules(root, contractsDir);
  const generateOptions = { outDir, runtimeImport };

  const cacheDir = options.cache === false ? undefined : options.cacheDir !== undefined ? resolve(root, options.cacheDir) : existsSync(resolve(root, "node_modules")) ? resolve(root, "node_modules/.cache/mqtt-contracts") : undefined;
  const cachePath = cacheDir && cacheFilePath(cacheDir, root);
  const context = cachePath ? runContext(root, { outDir, runtimeImport, ...(options.tsConfigFilePath === undefined ? {} : { tsConfigFilePath: options.tsConfigFilePath }) }) : "";
  const graph = new ImportGraph();
  const keys = new Map(cachePath ? modules.map((file) => [file, graph.key(root, file, context)]) : []);
  const read = cachePath ? await readCache(cachePath, root, context) : { entries: new Map<string, CacheEntry>() };
  const reused = new Map<string, CacheEntry>();
  for (const file of modules) {
    const entry = read.entries.get(toPosix(relative(root, file)));
    if (entry !== undefined && entry.key === keys.get(file)) reused.set(file, entry);
  }

  const fresh = modules.filter((file) => !reused.has(file));
  const built: { model: ServiceModel; files: GeneratedFile[] }[] = [];
  if (fresh.length > 0 || modules.length === 0) {
    // The compiler and ts-morph load only when something has to be generated.
    const [{ loadContracts }, { serviceFiles }] = await Promise.all([import("./load-contracts.js"), import("./generate.js")]);
    const others = [...reused.values()].flatMap((entry) => entry.services.map(({ model }) => model));
    const model = await loadContracts({
      root,
      contractsDir,
      files: fresh,
      otherServices: others,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.tsConfigFilePath === undefined ? {} : { tsConfigFilePath: options.tsConfigFilePath }),
    });
    options.onProgress?.(`generating ${model.services.length} services`);
    const files = serviceFiles(model.services, generateOptions);
    model.services.forEach((service, i) => built.push({ model: service, files: files.slice(2 * i, 2 * i + 2) }));
  }

  const services = [...[...reused.values()].flatMap((entry) => entry.services), ...built].sort((a, b) => a.model.name.localeCompare(b.model.name));
  const files = [...services.flatMap((service) => service.files), ...sharedFiles({ services: services.map((service) => service.model) }, generateOptions)];

  let cache: CacheReport | undefined;
  if (cachePath) {
    const notes = "ignored" in read ? [`ignored ${read.ignored}`] : [];
    if (fresh.length > 0 || "ignored" in read || read.entries.size !== modules.length) {
      const entries = new Map<string, CacheEntry>();
      for (const file of modules) {
        const relativePath = toPosix(relative(root, file));
        entries.set(relativePath, reused.get(file) ?? { key: keys.get(file)!, services: built.filter(({ model }) => model.file === relativePath) });
      }
      const failed = await writeCache(cachePath, root, context, entries);
      if (failed) notes.push(failed);
    }
    cache = { path: toPosix(relative(root, cachePath)), reused: reused.size, modules: modules.length, notes };
  }

  const stale = await staleFiles(root, outDir, files);
  if (!options.check) await writeStale(root, files, stale);
  return { files, outDir, stale, updated: [...stale.changed, ...stale.missing, ...stale.extra], ...(cache ? { cache } : {}) };
}
