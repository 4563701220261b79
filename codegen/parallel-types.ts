/**
 * Printing types on two threads. The type checker is single-threaded and is most of a cold run, so
 * with many contract files and a second core, half of the files are type-checked in a worker thread
 * (a project of its own) while this thread checks the other half. Each half pays for parsing the
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

/** What the worker answers: the printed types, or TypeScript's errors, or why it failed. */
export type WorkerAnswer = { printed: string[] } | { probeErrors: string[] } | { failure: string };

/**
 * `printTypes`, on two threads when there are enough files and cores; the same result either way.
 * `onWorker` hears how the worker thread did: `undefined` when it printed its half, else why not.
 */
export async function printTypesInParallel(settings: TypeCheckSettings, requests: readonly TypeRequest[], onWorker?: (failure: string | undefined) => void): Promise<string[]> {
  const files = [...new Set(requests.map((request) => request.file))];
  if (files.length < MIN_FILES_TO_SPLIT || availableParallelism() < 2) return printTypes(settings, requests);
  // Split by request count, whole files to each side, so that each side checks what its contracts import.
  const theirs = new Set<string>();
  let count = 0;
  for (const file of files) {
    if (count >= requests.length / 2) break;
    theirs.add(file);
    count += requests.filter((request) => request.file === file).length;
  }
  const mineAt: number[] = [];
  const theirsAt: number[] = [];
  requests.forEach((request, i) => (theirs.has(request.file) ? theirsAt : mineAt).push(i));
  const worker = inWorker(settings, theirsAt.map((i) => requests[i]!));
  let mine: string[] | TypeProbeError;
  try {
    mine = printTypes(settings, mineAt.map((i) => requests[i]!));
  } catch (error) {
    if (!(error instanceof TypeProbeError)) throw error;
    mine = error;
  }
  // A worker that cannot start (no loader for TypeScript sources, say) leaves its half to this thread.
  const answer = await worker;
  onWorker?.("failure" in answer ? answer.failure : undefined);
  const other: string[] | TypeProbeError = "printed" in answer ? answer.printed : "probeErrors" in answer ? new TypeProbeError(answer.probeErrors) : safely(() => printTypes(settings, theirsAt.map((i) => requests[i]!)));
  if (mine instanceof TypeProbeError || other instanceof TypeProbeError) {
    throw new TypeProbeError([...new Set([...(mine instanceof TypeProbeError ? mine.errors : []), ...(other instanceof TypeProbeError ? other.errors : [])])]);
  }
  const printed: string[] = new Array<string>(requests.length);
  mineAt.forEach((at, i) => (printed[at] = mine[i]!));
  theirsAt.forEach((at, i) => (printed[at] = other[i]!));
  return printed;
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

function inWorker(settings: TypeCheckSettings, requests: readonly TypeRequest[]): Promise<WorkerAnswer> {
  const fromSource = import.meta.url.endsWith(".ts");
  return new Promise((resolve) => {
    let worker: Worker;
    try {
      const script = new URL(fromSource ? "./type-worker.ts" : "./type-worker.js", import.meta.url);
      // From this repository's sources the worker first registers the TypeScript loader the parent runs with.
      worker = fromSource
        ? new Worker(`import(${JSON.stringify(tsxApi())}).then((tsx) => { tsx.register(); return import(${JSON.stringify(script.href)}); });`, { eval: true, workerData: { settings, requests } })
        : new Worker(script, { workerData: { settings, requests } });
    } catch (error) {
      resolve({ failure: (error as Error).message });
      return;
    }
    let answered = false;
    worker.once("message", (answer: WorkerAnswer) => {
      answered = true;
      resolve(answer);
    });
    worker.once("error", (error) => resolve({ failure: error.message }));
    worker.once("exit", (code) => {
      if (!answered) resolve({ failure: `the type worker exited with code ${code}` });
    });
  });
}
