import { readdir } from "node:fs/promises";
import { join, relative, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import type { AnySchema, ServiceContract } from "../src/contract/define-service.js";
import { asZodSchema, isServiceContract } from "../src/contract/define-service.js";
import { isZod4 } from "../src/contract/schema.js";
import { toJsonSchema } from "./json-schema.js";
import type { ContractModel, JsonSchema, SchemaModel, ServiceModel } from "./model.js";
import { printTypes, type TypeRequest } from "./typescript-types.js";
import { ContractProblem, validateContracts, type FoundService } from "./validate-contracts.js";

/** Contracts that cannot be generated; `problems` says where and why. */
export class ContractsError extends Error {
  constructor(readonly problems: ContractProblem[]) {
    super(`${problems.length} problem${problems.length === 1 ? "" : "s"} in contracts:\n${problems.map((p) => `  ${p}`).join("\n")}`);
    this.name = "ContractsError";
  }
}

export interface LoadOptions {
  /** The project root: paths in the model and headers are relative to it. */
  root: string;
  /** Default `<root>/contracts`. */
  contractsDir?: string;
  /** Default `<root>/tsconfig.json`. */
  tsConfigFilePath?: string;
}

/** Import every module in the contracts folder, check its services, and build the codegen model. */
export async function loadContracts(options: LoadOptions): Promise<ContractModel> {
  const root = resolve(options.root);
  const contractsDir = resolve(options.contractsDir ?? join(root, "contracts"));
  const files = (await listModules(contractsDir)).sort();
  const found: FoundService[] = [];
  const problems: ContractProblem[] = [];
  for (const absolute of files) {
    const file = posix(relative(root, absolute));
    let module: Record<string, unknown>;
    try {
      module = (await import(pathToFileURL(absolute).href)) as Record<string, unknown>;
    } catch (error) {
      problems.push(new ContractProblem(file, `cannot be imported: ${(error as Error).message}`));
      continue;
    }
    const seen = new Set<unknown>();
    for (const [exportName, value] of Object.entries(module).sort(([a], [b]) => a.localeCompare(b))) {
      if (!isServiceContract(value) || seen.has(value)) continue;
      seen.add(value);
      found.push({ file, exportName, contract: value });
    }
  }
  problems.push(...validateContracts(found));
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
        params: model(found, ["methods", name, "params"], asZodSchema(method.params), true),
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
    const printed = printTypes(resolve(options.tsConfigFilePath ?? join(root, "tsconfig.json")), requests);
    for (const { target, output, input } of schemaModels) {
      target.type = printed[output]!;
      if (input !== undefined && printed[input] !== target.type) target.inputType = printed[input]!;
    }
  }
  return { services: serviceModels };
}

async function listModules(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && /\.(ts|mts)$/.test(entry.name) && !/\.(d|test)\.m?ts$/.test(entry.name) && !entry.name.startsWith("__"))
    .map((entry) => join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name));
}

function posix(path: string): string {
  return path.split(sep).join("/");
}
