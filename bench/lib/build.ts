import { execFileSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./child.js";

/** Where `buildBenchProcesses` writes the compiled benchmark processes (gitignored). */
export const BUILD_DIR = join(repoRoot, ".bench-build");

/**
 * Compile the benchmark's processes, peers and the runtime with tsc, so every broker, server and
 * client runs as plain JavaScript on Node, as deployed code does. (Under `--import tsx` each process
 * carries ~30 MiB of loader and transform caches, which would swamp the RSS comparison.)
 */
export function buildBenchProcesses(): void {
  // From scratch: tsc leaves the output of deleted sources behind, which would blur the runtime's fingerprint (bench/lib/baseline.ts).
  rmSync(BUILD_DIR, { recursive: true, force: true });
  execFileSync(process.execPath, [join(repoRoot, "node_modules", "typescript", "bin", "tsc"), "-p", join(repoRoot, "tsconfig.bench.json")], { cwd: repoRoot, stdio: "inherit" });
  writeSelfReference(BUILD_DIR);
}

/**
 * The compiled code imports "mqtt-contracts" as users do. This package.json makes a build folder a
 * package of that name, so the import resolves (by self-reference) to the compiled runtime in it.
 */
export function writeSelfReference(buildDir: string): void {
  const manifest = { name: "mqtt-contracts", private: true, type: "module", exports: { ".": "./src/index.js" } };
  writeFileSync(join(buildDir, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** The compiled path of a benchmark process script, e.g. `peer.ts` → `.bench-build/bench/processes/peer.js`. */
export function compiledProcess(script: string, buildDir = BUILD_DIR): string {
  return join(buildDir, "bench", "processes", script.replace(/\.ts$/, ".js"));
}
