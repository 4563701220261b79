/**
 * mqtt-contracts through the generated client and server (validation at both ends), on
 * `MqttCommunicator` with `protocolVersion: "auto"` and QoS 1. The batched variant turns on the
 * communicator's auto-batching for the echo service; the no-expiry variant turns off the Message Expiry
 * Interval its requests carry on MQTT 5; the no-dedup variant turns off the server's at-most-once cache; the
 * openmas variant speaks OpenMAS's built-in format (`wireFormat: "openmas"`) instead of JSON-RPC. The group variants run N instances of one `sharedGroup` in the server process, one per worker thread.
 */
import { BenchEchoServiceClient, registerBenchEchoService } from "../../generated/bench_echo.js";
import { once } from "node:events";
import { Worker } from "node:worker_threads";
import { MqttCommunicator, type MqttCommunicatorOptions } from "mqtt-contracts";
import type { BrokerTarget, EchoClient, EchoServer, PeerSystem } from "./peer.js";

const SERVICE = "bench_echo";
const SERVER_PREFIX = "bench_echo_server";

/** If the runtime refuses an option (e.g. `batching` before it existed), the client fails to start and the bench reports it. */
function options(target: BrokerTarget, extra: Partial<MqttCommunicatorOptions> = {}): MqttCommunicatorOptions {
  return { url: target.url, protocolVersion: "auto", qos: target.qos, ...extra };
}

const messageOf = (result: { message: string }): string => result.message;

/** One echo server instance; `target.serverUrl`, when set, is where servers connect (another cluster node). */
export async function startEchoInstance(target: BrokerTarget, extra: Partial<MqttCommunicatorOptions> = {}, agentName = "bench_server"): Promise<EchoServer> {
  const communicator = new MqttCommunicator({ agentName, options: options(target, { topicPrefix: SERVER_PREFIX, url: target.serverUrl ?? target.url, ...extra }) });
  registerBenchEchoService(communicator, { echo: ({ message }) => ({ message }) });
  await communicator.start();
  return { close: () => communicator.stop() };
}

/** `instances` of one group: the first on this thread, the others on worker threads. */
async function startGroup(target: BrokerTarget, instances: number): Promise<EchoServer> {
  const group = "bench";
  const first = await startEchoInstance(target, { sharedGroup: group, clientId: "bench_server-0" });
  const workers = await Promise.all(
    Array.from({ length: instances - 1 }, async (_, i) => {
      const worker = new Worker(new URL("./group-instance.js", import.meta.url), { workerData: { target, group, index: i + 1 } });
      const [message] = (await Promise.race([once(worker, "message"), once(worker, "error").then(([error]) => Promise.reject(error))])) as [unknown];
      if (message !== "ready") throw new Error(`a group instance said ${String(message)}`);
      return worker;
    }),
  );
  return {
    async close() {
      await Promise.all(
        workers.map(async (worker) => {
          worker.postMessage("stop");
          await once(worker, "exit");
        }),
      );
      await first.close();
    },
  };
}

export function mqttContractsPeer(variant: "plain" | "batched" | "no-expiry" | "no-dedup" | "qos0" | "openmas" | `group-${number}`): PeerSystem {
  return {
    async startServer(target: BrokerTarget): Promise<EchoServer> {
      if (variant.startsWith("group-")) return startGroup(target, Number(variant.slice("group-".length)));
      // In OpenMAS's format a service is addressed by its agent name: the client's service name.
      if (variant === "openmas") return startEchoInstance(target, { wireFormat: "openmas" }, SERVICE);
      return startEchoInstance(target, variant === "no-dedup" ? { dedup: false } : variant === "qos0" ? { qos: 0 } : {});
    },

    async startClient(target: BrokerTarget): Promise<EchoClient> {
      const extra: Partial<MqttCommunicatorOptions> =
        variant === "batched"
          ? { batching: { [SERVICE]: { maxBatchSize: 64 } } }
          : variant === "no-expiry"
            ? { requestExpiry: false }
            : variant === "qos0"
              ? { qos: 0 }
              : variant === "openmas"
                ? { serviceWireFormats: { [SERVICE]: "openmas" } }
                : {};
      const communicator = new MqttCommunicator({ agentName: "bench_client", serviceUrls: { [SERVICE]: SERVER_PREFIX }, options: options(target, extra) });
      await communicator.start();
      if (variant.startsWith("group-")) {
        // A group on a broker without $share is reached through its instances' topics: wait until the client sees them all.
        const instances = Number(variant.slice("group-".length));
        while (communicator.liveInstances(SERVER_PREFIX).length < instances) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const client = new BenchEchoServiceClient(communicator, SERVICE);
      return {
        // As direct as the baseline's adapter: one promise, no async frame.
        echo: (message, timeoutMs) => client.echo({ message }, { timeoutMs }).then(messageOf),
        close: () => communicator.stop(),
      };
    },
  };
}
