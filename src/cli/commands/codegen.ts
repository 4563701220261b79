/**
 * `mqtt-contracts codegen [--check] [--contracts <dir>] [--out <dir>] [--watch]`: contracts → generated code.
 * Loaded by the CLI only for this command, so that `call` and agents never load ts-morph.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ContractsError } from "../../../codegen/contracts-error.js";
import { runCodegen } from "../../../codegen/run.js";
import type { CliIo } from "../cli-io.js";
import { ExitCode } from "../exit-codes.js";

export const CODEGEN_USAGE = `Usage: mqtt-contracts codegen [--check] [--contracts <dir>] [--out <dir>] [--watch] [--no-cache]

Reads every contract module in <dir> (.ts, .mts, .js or .mjs; no build step) and writes typed clients,
handler interfaces, topic helpers, JSON Schema and an AsyncAPI document to the output folder.

  --contracts <dir>   where the contracts are (default contracts)
  --out <dir>         where generated files go (default generated); files there without the
                      @generated mark are never touched
  --check             write nothing; exit 1 and list the files that differ (for CI)
  --watch             regenerate whenever a module in <dir> changes, until Ctrl-C: only the changed
                      modules and those that import them are loaded and checked again
  --no-cache          load and check every contract; by default the output of a module that has not
                      changed (nor what it imports, nor the versions of mqtt-contracts, zod and
                      TypeScript) is reused from the cache
  --cache-dir <dir>   where the cache lives (default node_modules/.cache/mqtt-contracts)
  --tsconfig <file>   the tsconfig whose module resolution to use (default ./tsconfig.json if any)
  --runtime <module>  what generated code imports the runtime from (default mqtt-contracts)
  -h, --help          show this help

Exit codes: 0 done (or up to date), 1 a contract problem (each is named with its file, service,
member and field) or --check found stale files, 64 usage error, 70 internal error.`;

const OPTIONS = {
  check: { type: "boolean", default: false },
  contracts: { type: "string", default: "contracts" },
  out: { type: "string", default: "generated" },
  watch: { type: "boolean", default: false },
  "no-cache": { type: "boolean", default: false },
  "cache-dir": { type: "string" },
  tsconfig: { type: "string" },
  runtime: { type: "string" },
  help: { type: "boolean", short: "h", default: false },
} as const;

/** Run `codegen` with `argv` (the words after `codegen`) and return the exit code. */
export async function codegenCommand(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  let values;
  try {
    ({ values } = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (error) {
    io.err(`mqtt-contracts codegen: ${(error as Error).message}`);
    io.err("Run mqtt-contracts codegen --help for the flags.");
    return ExitCode.Usage;
  }
  if (values.help) {
    io.out(CODEGEN_USAGE);
    return ExitCode.Ok;
  }
  if (values.watch && values.check) {
    io.err("mqtt-contracts codegen: --watch and --check do not go together");
    return ExitCode.Usage;
  }
  if (values.watch) {
    const { watchContracts } = await import("./codegen-watch.js");
    return watchContracts(
      { root: io.cwd, contractsDir: values.contracts, outDir: values.out, ...(values.runtime === undefined ? {} : { runtimeImport: values.runtime }), ...(values.tsconfig === undefined ? {} : { tsConfigFilePath: values.tsconfig }) },
      io,
    );
  }

  const started = performance.now();
  let result;
  try {
    result = await runCodegen({
      root: io.cwd,
      contractsDir: values.contracts,
      outDir: values.out,
      check: values.check,
      cache: !values["no-cache"],
      ...(values["cache-dir"] === undefined ? {} : { cacheDir: values["cache-dir"] }),
      ...(io.progress ? { onProgress: (line: string) => io.progress!(`codegen: ${line}`) } : {}),
      ...(values.runtime === undefined ? {} : { runtimeImport: values.runtime }),
      ...(values.tsconfig === undefined ? {} : { tsConfigFilePath: values.tsconfig }),
    });
  } catch (error) {
    if (!(error instanceof ContractsError)) throw error;
    io.err(`codegen: ${error.message}\ncodegen: nothing was written.`);
    return ExitCode.Problem;
  } finally {
    io.progress?.(undefined);
  }
  const { files, outDir, stale, updated, cache } = result;
  for (const note of cache?.notes ?? []) io.err(`codegen: cache: ${note}`);
  if (values.check) {
    if (updated.length === 0) {
      io.out(`codegen --check: ${files.length} files in ${outDir}/ are up to date.`);
      return ExitCode.Ok;
    }
    io.err(`codegen --check: ${outDir}/ is stale; run \`mqtt-contracts codegen\`.`);
    for (const path of stale.changed) io.err(`  changed: ${path}`);
    for (const path of stale.missing) io.err(`  missing: ${path}`);
    for (const path of stale.extra) io.err(`  no longer generated: ${path}`);
    return ExitCode.Problem;
  }
  const moduleNote = commonJsNote(io.cwd);
  if (moduleNote) io.err(moduleNote);
  const ms = Math.round(performance.now() - started);
  io.out(`codegen: ${files.length} files in ${outDir}/, ${updated.length} updated, in ${ms} ms.`);
  for (const path of stale.changed) io.out(`  updated: ${path}`);
  for (const path of stale.missing) io.out(`  created: ${path}`);
  for (const path of stale.extra) io.out(`  removed: ${path}`);
  if (cache) io.out(`  cache: ${cache.reused} of ${cache.modules} contract modules unchanged, reused`);
  return ExitCode.Ok;
}

/** Generated code is ES modules: a project whose package.json says otherwise cannot compile it with `module: nodenext`. */
function commonJsNote(root: string): string | undefined {
  let manifest: { type?: unknown };
  try {
    manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { type?: unknown };
  } catch {
    return undefined;
  }
  if (manifest.type === "module") return undefined;
  return `codegen: note: package.json has ${manifest.type === undefined ? "no" : `"type": ${JSON.stringify(manifest.type)}, not`} "type": "module"; the generated code is ES modules, so set it: npm pkg set type=module`;
}
