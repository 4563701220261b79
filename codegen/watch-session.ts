/**
 * Incremental codegen for `--watch`. The session keeps a type-checked project warm (`TypeSession`),
 * the model and files of every contract module, and what it last wrote. A change re-imports and
 * re-checks only the modules whose own text or whose imports (transitively) changed, plus added ones;
 * regenerates their services, the index and the AsyncAPI document; and writes what differs. A module
 * that fails to load or check is reported and keeps its last good output; the others go ahead.
 */
import { posix, relative, resolve } from "node:path";
import { ImportGraph } from "./cache-key.js";
import { typeCheckSettings } from "./compiler-options.js";
import { ContractsError } from "./contracts-error.js";
import { serviceFiles } from "./generate.js";
import { toPosix } from "./import-path.js";
import { listContractModules } from "./list-modules.js";
import { loadContracts } from "./load-contracts.js";
import { importFresh } from "./load-module.js";
import type { GeneratedFile, ServiceModel } from "./model.js";
import { staleFiles, writeStale } from "./output.js";
import { sharedFiles } from "./shared-files.js";
import { TypeSession } from "./typescript-types.js";
import type { ContractProblem } from "./validate-contracts.js";

export interface WatchOptions {
  root: string;
  /** Default `contracts`. */
  contractsDir?: string;
  /** Default `generated`. */
  outDir?: string;
  /** Default `mqtt-contracts`. */
  runtimeImport?: string;
  tsConfigFilePath?: string;
}

/** What one regeneration did. Paths are posix, relative to the root. */
export interface WatchUpdate {
  /** Contract modules imported and checked this time. */
  loaded: string[];
  created: string[];
  updated: string[];
  removed: string[];
  /** Why some modules did not generate; their last good output stays. */
  problems: ContractProblem[];
}

type Built = { model: ServiceModel; files: GeneratedFile[] }[];

export class WatchSession {
  private readonly root: string;
  private readonly contractsDir: string;
  private readonly outDir: string;
  private readonly runtimeImport: string;
  private readonly types: TypeSession;
  private readonly graph = new ImportGraph();
  /** The last good output of each contract module (absolute path). */
  private readonly built = new Map<string, Built>();
  /** Modules whose last load failed (their last good output, if any, stays in `built`). */
  private readonly failed = new Set<string>();
  /** Modules seen by the last update, good or not. */
  private known = new Set<string>();
  /** What the output folder holds, as this session last wrote or found it. */
  private written = new Map<string, string>();
  private generation = 0;

  constructor(options: WatchOptions) {
    this.root = resolve(options.root);
    this.contractsDir = resolve(this.root, options.contractsDir ?? "contracts");
    this.outDir = posix.normalize((options.outDir ?? "generated").split("\\").join("/")).replace(/\/$/, "");
    this.runtimeImport = options.runtimeImport ?? "mqtt-contracts";
    this.types = new TypeSession(typeCheckSettings(this.root, options.tsConfigFilePath && resolve(this.root, options.tsConfigFilePath)));
  }

  /** Generate everything, as a first run. A module that fails keeps what is in the output folder for it. */
  async start(): Promise<WatchUpdate> {
    const modules = await listContractModules(this.root, this.contractsDir);
    const problems = await this.load(modules);
    this.known = new Set(modules);
    const files = this.files();
    const stale = await staleFiles(this.root, this.outDir, files);
    // Output of a module that did not load stays until it loads again.
    const kept = problems.length > 0 ? { ...stale, extra: [] } : stale;
    await writeStale(this.root, files, kept);
    this.written = new Map(files.map((file) => [file.path, file.content]));
    return { loaded: modules.map((file) => this.relative(file)), created: kept.missing, updated: kept.changed, removed: kept.extra, problems };
  }

  /** Regenerate after `changed` (absolute paths: edited, added, deleted or renamed files). */
  async update(changed: readonly string[]): Promise<WatchUpdate> {
    const changedSet = new Set(changed.map((file) => resolve(file)));
    this.graph.forget(changedSet);
    this.types.refresh(changedSet);
    let modules: string[];
    try {
      modules = await listContractModules(this.root, this.contractsDir);
    } catch (error) {
      if (error instanceof ContractsError) return { loaded: [], created: [], updated: [], removed: [], problems: error.problems };
      throw error;
    }
    const present = new Set(modules);
    for (const file of [...this.built.keys()]) if (!present.has(file)) this.built.delete(file);
    for (const file of [...this.failed]) if (!present.has(file)) this.failed.delete(file);
    // Added modules, modules that failed last time (their problem may lie in another module, a duplicate
    // name say), and modules whose own text or imports changed.
    const affected = modules.filter((file) => !this.known.has(file) || this.failed.has(file) || this.graph.closure(file).some((dep) => changedSet.has(dep)));
    this.known = present;
    const problems = await this.load(affected);
    const written = await this.write(this.files());
    return { loaded: affected.map((file) => this.relative(file)), ...written, problems };
  }

  /** Import, check and generate `modules`, all at once when they are all good, else one by one to keep the good ones. */
  private async load(modules: readonly string[]): Promise<ContractProblem[]> {
    if (modules.length === 0) return [];
    const generation = ++this.generation;
    const load = (files: readonly string[]) => {
      const others = [...this.built].filter(([file]) => !files.includes(file)).flatMap(([, built]) => built.map(({ model }) => model));
      return loadContracts({
        root: this.root,
        contractsDir: this.contractsDir,
        files,
        otherServices: others,
        importer: (file) => importFresh(file, generation, this.contractsDir),
        printer: (requests) => this.types.print(requests),
      });
    };
    try {
      this.accept(modules, (await load(modules)).services);
      return [];
    } catch (error) {
      if (!(error instanceof ContractsError)) throw error;
      if (modules.length === 1) {
        this.failed.add(modules[0]!);
        return error.problems;
      }
    }
    const problems: ContractProblem[] = [];
    for (const file of modules) {
      try {
        this.accept([file], (await load([file])).services);
      } catch (error) {
        if (!(error instanceof ContractsError)) throw error;
        this.failed.add(file);
        problems.push(...error.problems);
      }
    }
    return problems;
  }

  private accept(modules: readonly string[], services: ServiceModel[]): void {
    const files = serviceFiles(services, { outDir: this.outDir, runtimeImport: this.runtimeImport });
    for (const file of modules) {
      this.built.set(file, []);
      this.failed.delete(file);
    }
    services.forEach((model, i) => this.built.get(resolve(this.root, model.file))?.push({ model, files: files.slice(2 * i, 2 * i + 2) }));
  }

  private files(): GeneratedFile[] {
    const services = [...this.built.values()].flat().sort((a, b) => a.model.name.localeCompare(b.model.name));
    return [...services.flatMap(({ files }) => files), ...sharedFiles({ services: services.map(({ model }) => model) }, { outDir: this.outDir, runtimeImport: this.runtimeImport })];
  }

  /** Write what differs from what the session last wrote; remove what it wrote and no longer generates. */
  private async write(files: readonly GeneratedFile[]): Promise<Pick<WatchUpdate, "created" | "updated" | "removed">> {
    const wanted = new Map(files.map((file) => [file.path, file.content]));
    const toWrite = files.filter((file) => this.written.get(file.path) !== file.content);
    // Compared with what this session wrote, not read back: asyncapi.json of a large project is megabytes.
    const stale = { changed: toWrite.filter((file) => this.written.has(file.path)).map((file) => file.path), missing: toWrite.filter((file) => !this.written.has(file.path)).map((file) => file.path) };
    const removed = [...this.written.keys()].filter((path) => !wanted.has(path));
    await writeStale(this.root, toWrite, { ...stale, extra: removed });
    this.written = wanted;
    return { created: stale.missing, updated: stale.changed, removed };
  }

  private relative(file: string): string {
    return toPosix(relative(this.root, file));
  }
}
