import { join, relative, resolve } from "node:path";
import type { AnySchema, ServiceContract } from "../src/contract/define-service.js";
import { asZodSchema, isServiceContract } from "../src/contract/define-service.js";
import { isZod4 } from "../src/contract/schema.js";
import { toJsonSchema } from "../src/contract/json-schema.js";
import type { ContractModel, JsonSchema, SchemaModel, ServiceModel } from "./model.js";
import { typeCheckSettings } from "./compiler-options.js";
import { toPosix } from "./import-path.js";
import { listContractModules } from "./list-modules.js";
import { importModule } from "./load-module.js";
import { startTypePrinting, type TypePrinting } from "./parallel-types.js";
import { TypeProbeError, type TypeRequest } from "./typescript-types.js";
import { ContractsError } from "./contracts-error.js";
import { ContractProblem, validateContracts, type FoundService, type KnownService } from "./validate-contracts.js";

export { ContractsError } from "./contracts-error.js";

export interface LoadOptions {
  /** The project root: paths in the model and headers are relative to it. */
  root: string;
  /** Default `<root>/contracts`. */
  contractsDir?: string;
  /**
   * The project's tsconfig, whose module resolution options codegen borrows when they work (it
   * type-checks with its own strict settings either way). Default `<root>/tsconfig.json` if it exists.
   */
  tsConfigFilePath?: string;
  /** Load only these modules (absolute paths) instead of every module in the contracts folder. */
  files?: readonly string[];
  /** Services of modules not loaded this time (from the cache, or kept by `--watch`): their names are taken. */
  otherServices?: readonly KnownService[];
  /** How a module is imported. Default `importModule`; `--watch` imports each version of a file anew. */
  importer?: (file: string) => Promise<Record<string, unknown>>;
  /** How types are printed. Default a new type-checked project for this load, split over two threads when that helps. */
  printer?: (requests: readonly TypeRequest[]) => string[] | Promise<string[]>;
  /** Told what is going on, e.g. `importing 40/100 contract modules`, for a progress line. */
  onProgress?: (line: string) => void;
}

/** Import every module in the contracts folder, check its services, and build the codegen model. */
export async function loadContracts(options: LoadOptions): Promise<ContractModel> {
  const root = resolve(options.root);
  const contractsDir = resolve(options.contractsDir ?? join(root, "contracts"));
  const files = options.files ? [...options.files].sort() : await listContractModules(root, contractsDir);
  // The type checker starts now (its worker thread's share, when there is one) while the modules import.
  const printing = options.printer ? undefined : startTypePrinting(typeCheckSettings(root, options.tsConfigFilePath && resolve(root, options.tsConfigFilePath)), files);
  try {
    return await buildModel(root, contractsDir, files, options, printing);
  } finally {
    printing?.close();
  }
}

async function buildModel(root: string, contractsDir: string, files: readonly string[], options: LoadOptions, printing: TypePrinting | undefined): Promise<ContractModel> {
  const others = options.otherServices ?? [];
  const importer = options.importer ?? importModule;
  const found: FoundService[] = [];
  const problems: ContractProblem[] = [];
  for (const [done, absolute] of files.entries()) {
    options.onProgress?.(`importing ${done}/${files.length} contract modules`);
    const file = toPosix(relative(root, absolute));
    let module: Record<string, unknown>;
    try {
      module = await importer(absolute);
    } catch (error) {
      problems.push(new ContractProblem(file, `cannot be imported: ${importFailure(error, root)}`));
      continue;
    }
    const seen = new Set<unknown>();
    for (const [exportName, value] of namedExports(module).sort(([a], [b]) => a.localeCompare(b))) {
      if (!isServiceContract(value) || seen.has(value)) continue;
      seen.add(value);
      found.push({ file, exportName, contract: value });
    }
  }
  if (files.length > 0 && found.length === 0 && problems.length === 0 && others.length === 0) {
    problems.push(new ContractProblem(toPosix(relative(root, contractsDir)), `no service contract in ${files.length} module${files.length === 1 ? "" : "s"}: export one, e.g. \`export const Greeter = defineService({ ... })\``));
  }
  problems.push(...validateContracts(found, others));
  if (problems.length > 0) throw new ContractsError(problems);

  const services = found.sort((a, b) => a.contract.name.localeCompare(b.contract.name));
  const requests: TypeRequest[] = [];
  const schemaModels: { target: SchemaModel; output: number; input?: number }[] = [];
  const model = (found: FoundService, accessPath: string[], schema: AnySchema, withInput: boolean): SchemaModel => {
    const zod = isZod4(schema) ? 4 : 3;
    let jsonSchema: JsonSchema = {};
    try {
      jsonSchema = toJsonSchema(schema);
    } catch (error) {
      // A part validation did not foresee: still a located, clear error, not a crash.
      const [kind, member, ...field] = accessPath;
      problems.push(new ContractProblem(found.file, `has no JSON Schema: ${(error as Error).message}`, found.contract.name, `${kind === "methods" ? "method" : "notification"} ${JSON.stringify(member)}`, field.join(".")));
    }
    const base = { file: resolve(root, found.file), exportName: found.exportName, accessPath, zod, jsonSchema } as const;
    const target: SchemaModel = { zod, jsonSchema, type: "" };
    const output = requests.push({ ...base, io: "output" }) - 1;
    const input = withInput ? requests.push({ ...base, io: "input" }) - 1 : undefined;
    schemaModels.push(input === undefined ? { target, output } : { target, output, input });
    return target;
  };

  const serviceModels: ServiceModel[] = services.map((found) => {
    const contract: ServiceContract = found.contract;
    const service: ServiceModel = {
      name: contract.name,
      file: found.file,
      exportName: found.exportName,
      methods: Object.entries(contract.methods ?? {}).map(([name, method]) => ({
        name,
        ...(method.description === undefined ? {} : { description: method.description }),
        ...(method.timeoutMs === undefined ? {} : { timeoutMs: method.timeoutMs }),
        ...(method.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: method.idleTimeoutMs }),
        params: model(found, ["methods", name, "params"], asZodSchema(method.params), true),
        // Items, like results: the handler yields the output type (encoded for the wire), the caller gets it parsed.
        ...(method.yields === undefined ? {} : { yields: model(found, ["methods", name, "yields"], asZodSchema(method.yields), false) }),
        result: model(found, ["methods", name, "result"], asZodSchema(method.result), false),
        errors: Object.entries(method.errors ?? {}).map(([errorName, error]) => ({
          name: errorName,
          code: error.code,
          ...(error.description === undefined ? {} : { description: error.description }),
          ...(error.data === undefined ? {} : { data: model(found, ["methods", name, "errors", errorName, "data"], asZodSchema(error.data), false) }),
        })),
      })),
      notifications: Object.entries(contract.notifications ?? {}).map(([name, notification]) => ({
        name,
        ...(notification.description === undefined ? {} : { description: notification.description }),
        params: model(found, ["notifications", name, "params"], asZodSchema(notification.params), true),
      })),
    };
    if (contract.description !== undefined) service.description = contract.description;
    if (contract.version !== undefined) service.version = contract.version;
    return service;
  });

  if (problems.length > 0) throw new ContractsError(problems);
  if (requests.length > 0) {
    options.onProgress?.(`type-checking ${new Set(requests.map((request) => request.file)).size} contract modules`);
    const printed = await printContractTypes(root, options.printer ?? ((r) => printing!.print(r)), requests, serviceModels);
    // A schema whose type TypeScript could not see prints as `any`: generated code would type-check and check nothing.
    const untyped = requests.flatMap((request, i) => (printed[i] === "any" ? [request] : []));
    if (untyped.length > 0) {
      throw new ContractsError(
        untyped.map((request) => {
          const service = services.find((s) => resolve(root, s.file) === request.file && s.exportName === request.exportName)?.contract.name;
          const [kind, member, ...field] = request.accessPath;
          return new ContractProblem(toPosix(relative(root, request.file)), "its type resolved to `any`: TypeScript cannot see this schema's type (does the contract import zod and mqtt-contracts as the project resolves them?)", service, `${kind === "methods" ? "method" : "notification"} ${JSON.stringify(member)}`, field.join("."));
        }),
      );
    }
    for (const { target, output, input } of schemaModels) {
      target.type = printed[output]!;
      if (input !== undefined && printed[input] !== target.type) target.inputType = printed[input]!;
    }
  }
  return { services: serviceModels };
}

async function printContractTypes(root: string, printer: NonNullable<LoadOptions["printer"]>, requests: TypeRequest[], services: ServiceModel[]): Promise<string[]> {
  try {
    return await printer(requests);
  } catch (error) {
    if (!(error instanceof TypeProbeError)) throw error;
    const files = [...new Set(services.map((service) => service.file))];
    throw new ContractsError([
      new ContractProblem(files.join(", "), `TypeScript cannot resolve the types of these contracts (is zod installed where they can import it?):\n    ${error.errors.map((line) => line.split(root).join(".")).join("\n    ")}`),
    ]);
  }
}

/**
 * A module's named exports. A CommonJS module (a `.ts` contract in a package without `"type": "module"`)
 * imported from an ES module may show its exports only on `default`, as `module.exports`.
 */
function namedExports(module: Record<string, unknown>): [string, unknown][] {
  const entries = Object.entries(module);
  const fallback = module.default;
  if (typeof fallback !== "object" || fallback === null || isServiceContract(fallback)) return entries;
  const named = new Set(entries.map(([name]) => name));
  return [...entries, ...Object.entries(fallback).filter(([name]) => !named.has(name))];
}

/** Why an import failed, in one line, with paths relative to the project. */
function importFailure(error: unknown, root: string): string {
  const message = error instanceof Error ? error.message : String(error);
  const firstLine = message.split("\n").find((line) => line.trim() !== "") ?? message;
  return firstLine.split(`file://${root}/`).join("").split(`${root}/`).join("");
}
