/**
 * mqtt-contracts through the generated client and server (validation at both ends), on
 * `MqttCommunicator` with `protocolVersion: "auto"` and QoS 1. The batched variant turns on the
 * communicator's auto-batching for the echo service; the no-expiry variant turns off the Message Expiry
 * Interval its requests carry on MQTT 5; the no-dedup variant turns off the server's at-most-once cache.
 */
import { BenchEchoServiceClient, registerBenchEchoService } from "../../generated/bench_echo.js";
import { MqttCommunicator, type MqttCommunicatorOptions } from "mqtt-contracts";
import type { BrokerTarget, EchoClient, EchoServer, PeerSystem } from "./peer.js";

const SERVICE = "bench_echo";
const SERVER_PREFIX = "bench_echo_server";

/** If the runtime refuses an option (e.g. `batching` before it existed), the client fails to start and the bench reports it. */
function options(target: BrokerTarget, extra: Partial<MqttCommunicatorOptions> = {}): MqttCommunicatorOptions {
  return { url: target.url, protocolVersion: "auto", qos: target.qos, ...extra };
}

const messageOf = (result: { message: string }): string => result.message;

export function mqttContractsPeer(variant: "plain" | "batched" | "no-expiry" | "no-dedup"): PeerSystem {
  return {
    async startServer(target: BrokerTarget): Promise<EchoServer> {
      const extra = variant === "no-dedup" ? { dedup: false as const } : {};
      const communicator = new MqttCommunicator({ agentName: "bench_server", options: options(target, { topicPrefix: SERVER_PREFIX, ...extra }) });
      registerBenchEchoService(communicator, { echo: ({ message }) => ({ message }) });
      await communicator.start();
      return { close: () => communicator.stop() };
    },

    async startClient(target: BrokerTarget): Promise<EchoClient> {
      const extra = variant === "batched" ? { batching: { [SERVICE]: { maxBatchSize: 64 } } } : variant === "no-expiry" ? { requestExpiry: false } : {};
      const communicator = new MqttCommunicator({ agentName: "bench_client", serviceUrls: { [SERVICE]: SERVER_PREFIX }, options: options(target, extra) });
      await communicator.start();
      const client = new BenchEchoServiceClient(communicator, SERVICE);
      return {
        // As direct as the baseline's adapter: one promise, no async frame.
        echo: (message, timeoutMs) => client.echo({ message }, { timeoutMs }).then(messageOf),
        close: () => communicator.stop(),
      };
    },
  };
}
