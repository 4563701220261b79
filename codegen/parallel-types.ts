/**
 * Printing types on two threads. The type checker is single-threaded and is most of a cold run, so
 * with many contract files and a second core, part of the files are type-checked in a worker thread
 * (a project of its own) while this thread checks the rest. The worker starts before the contracts
 * are imported: it parses its files and infers their exports (`TypeSession.warm`) while this thread
 * imports, and gets the requests for its files when they are known. Each side pays for parsing the
 * libraries and zod once; that is why a small project stays on one thread.
 */
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import type { TypeCheckSettings } from "./compiler-options.js";
import { printTypes, TypeProbeError, type TypeRequest } from "./typescript-types.js";

/** Below this many contract files a second project costs more than it saves. */
export const MIN_FILES_TO_SPLIT = 16;

/**
 * The worker's share of the files. It starts while this thread imports the contracts and, after
 * printing, this thread still generates the files, so the worker takes a little more than half.
 */
const WORKER_SHARE = 0.55;

/** What the worker answers: the printed types, or TypeScript's errors, or why it failed. */
export type WorkerAnswer = { printed: string[] } | { probeErrors: string[] } | { failure: string };

/** What the worker is started with; the requests come later, in one message. */
export interface WorkerStart {
  settings: TypeCheckSettings;
  files: string[];
}

/** Types of one run's contracts, printed on one or two threads; the same result either way. */
export interface TypePrinting {
  /** The printed types of `requests` (for files among those it was started with), in order. */
  print(requests: readonly TypeRequest[]): Promise<string[]>;
  /** Stop the worker thread if it still runs: call it when the run ends, whichever way. */
  close(): void;
}

/**
 * Start printing the types of the contract modules `files` (absolute): on two threads when there are
 * enough files and cores, the worker's share warming up at once. `onWorker` hears how the worker
 * thread did: `undefined` when it printed its share, else why not.
 */
export function startTypePrinting(settings: TypeCheckSettings, files: readonly string[], onWorker?: (failure: string | undefined) => void): TypePrinting {
  if (files.length < MIN_FILES_TO_SPLIT || availableParallelism() < 2) return { print: async (requests) => printTypes(settings, requests), close: () => undefined };
  const sorted = [...files].sort();
  const theirs = new Set(sorted.slice(0, Math.round(sorted.length * WORKER_SHARE)));
  const worker = startWorker({ settings, files: [...theirs] });
  return {
    async print(requests) {
      const mineAt: number[] = [];
      const theirsAt: number[] = [];
      requests.forEach((request, i) => (theirs.has(request.file) ? theirsAt : mineAt).push(i));
      const answer = worker.print(theirsAt.map((i) => requests[i]!));
      const mine = safely(() => printTypes(settings, mineAt.map((i) => requests[i]!)));
      // A worker that cannot start (no loader for TypeScript sources, say) leaves its share to this thread.
      const answered = await answer;
      onWorker?.("failure" in answered ? answered.failure : undefined);
      const other = "printed" in answered ? answered.printed : "probeErrors" in answered ? new TypeProbeError(answered.probeErrors) : safely(() => printTypes(settings, theirsAt.map((i) => requests[i]!)));
      if (mine instanceof TypeProbeError || other instanceof TypeProbeError) {
        throw new TypeProbeError([...new Set([...(mine instanceof TypeProbeError ? mine.errors : []), ...(other instanceof TypeProbeError ? other.errors : [])])]);
      }
      const printed: string[] = new Array<string>(requests.length);
      mineAt.forEach((at, i) => (printed[at] = mine[i]!));
      theirsAt.forEach((at, i) => (printed[at] = other[i]!));
      return printed;
    },
    close: () => worker.stop(),
  };
}

function tsxApi(): string {
  // The ES module build: the CommonJS one, imported, cannot find its own parts.
  return pathToFileURL(createRequire(import.meta.url).resolve("tsx/esm/api").replace(/\.cjs$/, ".mjs")).href;
}

function safely(print: () => string[]): string[] | TypeProbeError {
  try {
    return print();
  } catch (error) {
    if (error instanceof TypeProbeError) return error;
    throw error;
  }
}

/** The worker thread of `type-worker.ts`: it warms up at once and prints the one batch `print` sends it. */
function startWorker(start: WorkerStart): { print(requests: readonly TypeRequest[]): Promise<WorkerAnswer>; stop(): void } {
  const fromSource = import.meta.url.endsWith(".ts");
  let worker: Worker | undefined;
  let answer: Promise<WorkerAnswer>;
  try {
    const script = new URL(fromSource ? "./type-worker.ts" : "./type-worker.js", import.meta.url);
    // From this repository's sources the worker first registers the TypeScript loader the parent runs with.
    const started = fromSource
      ? new Worker(`import(${JSON.stringify(tsxApi())}).then((tsx) => { tsx.register(); return import(${JSON.stringify(script.href)}); });`, { eval: true, workerData: start })
      : new Worker(script, { workerData: start });
    worker = started;
    answer = new Promise((resolve) => {
      let answered = false;
      started.once("message", (message: WorkerAnswer) => {
        answered = true;
        resolve(message);
      });
      started.once("error", (error) => resolve({ failure: error.message }));
      started.once("exit", (code) => {
        if (!answered) resolve({ failure: `the type worker exited with code ${code}` });
      });
    });
  } catch (error) {
    answer = Promise.resolve({ failure: (error as Error).message });
  }
  return {
    print(requests) {
      worker?.postMessage(requests);
      return answer;
    },
    stop() {
      void worker?.terminate();
    },
  };
}
