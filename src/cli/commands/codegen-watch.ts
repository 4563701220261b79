/**
 * `mqtt-contracts codegen --watch`: generate once, then after every change under the contracts folder
 * regenerate incrementally in this process (`WatchSession`): the type-checked project stays warm, and
 * only the changed modules and the modules that import them are loaded and checked again. A broken
 * edit is reported and keeps the last good output; it cannot take the watcher down. Ends on SIGINT or SIGTERM.
 */
import { readdirSync, statSync, watch, type FSWatcher } from "node:fs";
import { join, relative, resolve } from "node:path";
import { ContractsError } from "../../../codegen/contracts-error.js";
import { toPosix } from "../../../codegen/import-path.js";
import { WatchSession, type WatchOptions, type WatchUpdate } from "../../../codegen/watch-session.js";
import type { CliIo } from "../cli-io.js";
import { ExitCode } from "../exit-codes.js";

/** How long to let a burst of file events (an editor's save is several, within a few ms) settle before regenerating. */
const SETTLE_MS = 30;
/** What a contract module is or may import. */
const SOURCE = /\.([mc]?[jt]sx?|json)$/;

export async function watchContracts(options: WatchOptions, io: CliIo): Promise<ExitCode> {
  const contractsDir = resolve(options.root, options.contractsDir ?? "contracts");
  const shown = toPosix(relative(io.cwd, contractsDir)) || ".";
  const stop = io.waitForStop();
  const session = new WatchSession(options);
  let changed = new Set<string>();
  let running: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;

  const report = (update: WatchUpdate, started: number) => {
    const count = update.created.length + update.updated.length + update.removed.length;
    // One write for the report and its files, so that a reader never sees half of it.
    io.out(
      [
        `codegen --watch: ${update.loaded.length} contract module${update.loaded.length === 1 ? "" : "s"} checked, ${count} file${count === 1 ? "" : "s"} updated, in ${Math.round(performance.now() - started)} ms.`,
        ...update.updated.map((path) => `  updated: ${path}`),
        ...update.created.map((path) => `  created: ${path}`),
        ...update.removed.map((path) => `  removed: ${path}`),
      ].join("\n"),
    );
    if (update.problems.length > 0) {
      io.err(`codegen: ${new ContractsError(update.problems).message}`);
      const files = [...new Set(update.problems.map((problem) => problem.file))].join(", ");
      io.err(`codegen --watch: the last change did not generate for ${files}; its last good output stays. Fix it and save again.`);
    }
  };
  const run = async (work: () => Promise<WatchUpdate>) => {
    const started = performance.now();
    try {
      report(await work(), started);
    } catch (error) {
      if (error instanceof ContractsError) {
        io.err(`codegen: ${error.message}`); // the contracts folder itself is gone, say
        return;
      }
      // Not a contract problem: say so, and keep watching; the next save tries again.
      io.err(`codegen --watch: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
  };
  const start = (work: () => Promise<void>) => {
    running = work().finally(() => {
      running = undefined;
      if (changed.size > 0) schedule(); // changes that came in during the run
    });
  };
  const schedule = () => {
    if (running) return; // picked up when the run ends
    const files = [...changed].sort();
    changed = new Set();
    io.out(`codegen --watch: changed: ${files.map((file) => toPosix(relative(io.cwd, file))).join(", ")}`);
    start(() => run(() => session.update(files)));
  };

  let watcher: FolderWatcher;
  try {
    watcher = watchFolders(contractsDir, (file) => {
      if (!SOURCE.test(file)) return; // editors' swap and backup files
      changed.add(file);
      clearTimeout(timer);
      timer = setTimeout(schedule, SETTLE_MS);
    });
  } catch (error) {
    io.err(`codegen --watch: cannot watch ${contractsDir}: ${(error as Error).message}`);
    return ExitCode.Problem;
  }
  start(async () => {
    await run(() => session.start());
    io.out(`codegen --watch: watching ${shown}/ for changes; Ctrl-C to stop.`);
  });
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
