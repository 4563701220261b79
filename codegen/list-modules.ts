import { readdir, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { ContractsError } from "./contracts-error.js";
import { toPosix } from "./import-path.js";
import { CONTRACT_MODULE, NOT_A_CONTRACT } from "./load-module.js";
import { ContractProblem } from "./validate-contracts.js";

/** Every contract module under `dir` (absolute paths, sorted); a located error when `dir` is not a folder. */
export async function listContractModules(root: string, dir: string): Promise<string[]> {
  const isDir = await stat(dir).then((s) => s.isDirectory(), () => false);
  if (!isDir) {
    throw new ContractsError([new ContractProblem(toPosix(relative(root, dir)) || ".", "no such folder: put contract modules there, or name the folder with --contracts <dir>")]);
  }
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  const modules = entries
    .filter((entry) => entry.isFile() && CONTRACT_MODULE.test(entry.name) && !NOT_A_CONTRACT.test(entry.name) && !isInNodeModules(entry))
    .map((entry) => join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name));
  return modules.sort();
}

function isInNodeModules(entry: { parentPath?: string; path?: string }): boolean {
  return /[\\/]node_modules([\\/]|$)/.test(entry.parentPath ?? entry.path ?? "");
}
