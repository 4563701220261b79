/**
 * `mqtt-contracts codegen [--check] [--contracts <dir>] [--out <dir>] [--watch]`: contracts → generated code.
 * Loaded by the CLI only for this command, so that `call` and agents never load ts-morph.
 */
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, statSync, watch, type FSWatcher } from "node:fs";
import { createRequire } from "node:module";
import { join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { toPosix } from "../../../codegen/import-path.js";
import { ContractsError } from "../../../codegen/load-contracts.js";
import { CONTRACT_MODULE } from "../../../codegen/load-module.js";
import { runCodegen } from "../../../codegen/run.js";
import type { CliIo } from "../cli-io.js";
import { ExitCode } from "../exit-codes.js";

export const CODEGEN_USAGE = `Usage: mqtt-contracts codegen [--check] [--contracts <dir>] [--out <dir>] [--watch]

Reads every contract module in <dir> (.ts, .mts, .js or .mjs; no build step) and writes typed clients,
handler interfaces, topic helpers, JSON Schema and an AsyncAPI document to the output folder.

  --contracts <dir>   where the contracts are (default contracts)
  --out <dir>         where generated files go (default generated); files there without the
                      @generated mark are never touched
  --check             write nothing; exit 1 and list the files that differ (for CI)
  --watch             regenerate whenever a module in <dir> changes, until Ctrl-C
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
  if (values.watch) return watchContracts(argv.filter((arg) => arg !== "--watch"), resolve(io.cwd, values.contracts), io);

  const started = performance.now();
  let result;
  try {
    result = await runCodegen({
      root: io.cwd,
      contractsDir: values.contracts,
      outDir: values.out,
      check: values.check,
      ...(values.runtime === undefined ? {} : { runtimeImport: values.runtime }),
      ...(values.tsconfig === undefined ? {} : { tsConfigFilePath: values.tsconfig }),
    });
  } catch (error) {
    if (!(error instanceof ContractsError)) throw error;
    io.err(`codegen: ${error.message}\ncodegen: nothing was written.`);
    return ExitCode.Problem;
  }
  const { files, outDir, stale, updated } = result;
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

/** How long to let a burst of file events (an editor's save is several) settle before regenerating. */
const SETTLE_MS = 100;

/**
 * `--watch`: generate now and after every change under the contracts folder, each time in a fresh
 * process, so that edited modules (and what they import) are loaded anew and a broken edit cannot
 * take the watcher down. Ends on SIGINT or SIGTERM.
 */
async function watchContracts(argv: readonly string[], contractsDir: string, io: CliIo): Promise<ExitCode> {
  const stop = io.waitForStop();
  let changed = new Set<string>();
  let running: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;

  const generateOnce = async (): Promise<void> => {
    const code = await runChild(argv, io);
    if (code !== 0) io.err(`codegen --watch: the last change did not generate (exit ${code}); fix it and save again.`);
    io.out(`codegen --watch: watching ${toPosix(relative(io.cwd, contractsDir)) || "."}/ for changes; Ctrl-C to stop.`);
  };
  const start = (run: () => Promise<void>) => {
    running = run().finally(() => {
      running = undefined;
      if (changed.size > 0) schedule(); // changes that came in during the run
    });
  };
  const schedule = () => {
    if (running) return; // picked up when the run ends
    const files = [...changed].sort();
    changed = new Set();
    io.out(`codegen --watch: changed: ${files.join(", ")}`);
    start(generateOnce);
  };

  let watcher: FolderWatcher;
  try {
    watcher = watchFolders(contractsDir, (file) => {
      if (!CONTRACT_MODULE.test(file)) return;
      changed.add(toPosix(relative(io.cwd, file)));
      clearTimeout(timer);
      timer = setTimeout(schedule, SETTLE_MS);
    });
  } catch (error) {
    io.err(`codegen --watch: cannot watch ${contractsDir}: ${(error as Error).message}`);
    return ExitCode.Problem;
  }
  start(generateOnce);
  const signal = await stop;
  clearTimeout(timer);
  watcher.close();
  await running;
  io.out(`codegen --watch: ${signal} received; stopped.`);
  return ExitCode.Ok;
}

interface FolderWatcher {
  close(): void;
}

/**
 * Watch `root` and the folders below it (not node_modules), one non-recursive watcher per folder.
 * Folder watchers see a file replaced by a rename, as many editors save; Node 20's recursive watcher on
 * Linux watches files themselves and goes deaf to a file after its first such save.
 */
function watchFolders(root: string, onFile: (path: string) => void): FolderWatcher {
  const watchers = new Map<string, FSWatcher>();
  const add = (dir: string) => {
    if (watchers.has(dir) || /[\\/]node_modules$/.test(dir)) return;
    const watcher = watch(dir, (_event, name) => {
      if (name === null) return;
      const path = join(dir, name);
      if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) addTree(path);
      else onFile(path);
    });
    watcher.on("error", () => {
      watcher.close();
      watchers.delete(dir);
    });
    watchers.set(dir, watcher);
  };
  const addTree = (dir: string) => {
    add(dir);
    for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) addTree(join(dir, entry.name));
  };
  addTree(root);
  return { close: () => watchers.forEach((watcher) => watcher.close()) };
}

/** One `mqtt-contracts codegen` in a child process, its output passed through; resolves with its exit code. */
function runChild(argv: readonly string[], io: CliIo): Promise<number> {
  const fromSource = import.meta.url.endsWith(".ts");
  const entry = fileURLToPath(new URL(fromSource ? "../main.ts" : "../main.js", import.meta.url));
  // From this repository's sources the child needs what the parent was started with: tsx (found from here,
  // not from the project) and the source condition.
  const nodeArgs = fromSource ? ["--conditions=@mqtt-contracts/source", "--import", pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href] : [];
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [...nodeArgs, entry, "codegen", ...argv], { cwd: io.cwd, env: { ...io.env }, stdio: ["ignore", "pipe", "pipe"] });
    forwardLines(child.stdout, (line) => io.out(line));
    forwardLines(child.stderr, (line) => io.err(line));
    child.once("error", (error) => {
      io.err(`codegen --watch: cannot start codegen: ${error.message}`);
      resolvePromise(ExitCode.Internal);
    });
    child.once("close", (code, signal) => resolvePromise(code ?? (signal ? 128 : ExitCode.Internal)));
  });
}

function forwardLines(stream: NodeJS.ReadableStream, write: (line: string) => void): void {
  let buffered = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines) write(line);
  });
  stream.on("end", () => {
    if (buffered) write(buffered);
  });
}
