/** The worker thread of `parallel-types.ts`: prints the types of the requests it is given, once, and ends. */
import { parentPort, workerData } from "node:worker_threads";
import type { TypeCheckSettings } from "./compiler-options.js";
import type { WorkerAnswer } from "./parallel-types.js";
import { printTypes, TypeProbeError, type TypeRequest } from "./typescript-types.js";

const { settings, requests } = workerData as { settings: TypeCheckSettings; requests: TypeRequest[] };
let answer: WorkerAnswer;
try {
  answer = { printed: printTypes(settings, requests) };
} catch (error) {
  answer = error instanceof TypeProbeError ? { probeErrors: error.errors } : { failure: error instanceof Error ? error.message : String(error) };
}
parentPort!.postMessage(answer);
