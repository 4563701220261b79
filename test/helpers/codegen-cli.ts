import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { repoRoot } from "./child-process.js";

/**
 * A codegen run loads TypeScript and type-checks contracts: seconds alone, much more on a loaded
 * 2-core machine. The bound is for a hung process, not a measure of speed (bench:codegen measures that).
 */
export const CODEGEN_TIMEOUT = 180_000;

/**
 * `node` arguments that run `mqtt-contracts codegen <args>` from this checkout's sources in any
 * working directory: tsx is named by its path, as a project under test does not install it.
 */
export function codegenArgs(...args: string[]): string[] {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
  return ["--conditions=@mqtt-contracts/source", "--import", tsx, join(repoRoot, "src/cli/main.ts"), "codegen", ...args];
}
