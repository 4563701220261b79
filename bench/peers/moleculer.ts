/**
 * Moleculer 0.14 with its MQTT transporter: two service brokers (server node and client node) that
 * discover each other over MQTT. QoS 1 and the protocol version of mqtt-contracts on each broker,
 * JSON serializer, params validated on the server by Moleculer's default validator.
 */
import moleculer from "moleculer";
import type { MqttClient } from "mqtt";
import { disableNagle, type BrokerTarget, type EchoServer, type PeerSystem } from "./peer.js";

const { ServiceBroker } = moleculer;

function serviceBroker(target: BrokerTarget, role: string): InstanceType<typeof ServiceBroker> {
  return new ServiceBroker({
    namespace: "bench",
    nodeID: `bench-${role}-${process.pid}`,
    logger: false,
    transporter: { type: "MQTT", options: { host: target.host, port: target.port, protocolVersion: target.protocolVersion, qos: target.qos } },
  });
}

/** The mqtt.js client inside the MQTT transporter (not part of Moleculer's typed API). */
function mqttClientOf(broker: InstanceType<typeof ServiceBroker>): MqttClient | undefined {
  return (broker.transit as unknown as { tx?: { client?: MqttClient } } | undefined)?.tx?.client;
}

export const moleculerPeer: PeerSystem = {
  async startServer(target) {
    const broker = serviceBroker(target, "server");
    broker.createService({
      name: "bench_echo",
      actions: {
        echo: {
          params: { message: "string" },
          handler(ctx: moleculer.Context<{ message: string }>) {
            return { message: ctx.params.message };
          },
        },
      },
    });
    await broker.start();
    if (target.tcpNoDelay) disableNagle(mqttClientOf(broker));
    return { close: () => broker.stop() } satisfies EchoServer;
  },

  async startClient(target) {
    const broker = serviceBroker(target, "client");
    await broker.start();
    if (target.tcpNoDelay) disableNagle(mqttClientOf(broker));
    await broker.waitForServices("bench_echo", 20_000, 50);
    return {
      async echo(message, timeoutMs) {
        const result = await broker.call<{ message: string }, { message: string }>("bench_echo.echo", { message }, { timeout: timeoutMs });
        return result.message;
      },
      close: () => broker.stop(),
    };
  },
};
