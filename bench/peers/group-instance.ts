/**
 * One more instance of the mqtt-contracts echo server, in a worker thread of the server process, for the
 * grouped variants: the server process runs N instances of one `sharedGroup`, on N threads (N cores at most).
 */
import { parentPort, workerData } from "node:worker_threads";
import { startEchoInstance } from "./mqtt-contracts.js";
import type { BrokerTarget } from "./peer.js";

const { target, group, index } = workerData as { target: BrokerTarget; group: string; index: number };
const instance = await startEchoInstance(target, { sharedGroup: group, clientId: `bench_server-${index}` });
parentPort!.postMessage("ready");
parentPort!.once("message", () => {
  void instance.close().then(() => {
    parentPort!.postMessage("stopped");
    parentPort!.close();
  });
});
