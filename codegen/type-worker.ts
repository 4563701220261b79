/**
 * The worker thread of `parallel-types.ts`: infers the exports of the files it is given at once, then
 * prints the types of the one batch of requests it receives, answers, and ends.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { WorkerAnswer, WorkerStart } from "./parallel-types.js";
import { TypeProbeError, TypeSession, type TypeRequest } from "./typescript-types.js";

const { settings, files } = workerData as WorkerStart;
const session = new TypeSession(settings);
try {
  session.warm(files);
} catch {
  // Whatever stopped the warm-up, printing meets it again and reports it.
}
parentPort!.once("message", (requests: TypeRequest[]) => {
  let answer: WorkerAnswer;
  try {
    answer = { printed: session.print(requests) };
  } catch (error) {
    answer = error instanceof TypeProbeError ? { probeErrors: error.errors } : { failure: error instanceof Error ? error.message : String(error) };
  }
  parentPort!.postMessage(answer);
  parentPort!.close();
});
