import type { PeerSystem } from "./peer.js";

/** A system under test, loaded only in the processes that run it. */
export interface SystemInfo {
  readonly id: string;
  /** One line for the report. */
  readonly description: string;
  /** Gets `--cpu-prof` when the bench runs with it. */
  readonly profiled: boolean;
  load(): Promise<PeerSystem>;
}

/** Every system, in report order. The first one is the baseline the others are compared with. */
export const SYSTEMS: readonly SystemInfo[] = [
  {
    id: "handwritten",
    description: "baseline: mqtt.js by hand, one response subscription, a Map of pending ids, JSON, no validation",
    profiled: false,
    load: async () => (await import("./handwritten.js")).handwrittenVariant({}),
  },
  {
    id: "handwritten-zod",
    description: "reference: the baseline plus Zod, validating params on the server and results on the client (what validation with Zod costs without our runtime)",
    profiled: false,
    load: async () => (await import("./handwritten.js")).handwrittenVariant({ zod: true }),
  },
  {
    id: "handwritten-expiry",
    description: "reference: the baseline plus the MQTT 5 Message Expiry Interval on each request, as mqtt-contracts sends by default (what that property costs in mqtt.js and the broker; on aedes, MQTT 3.1.1, it is the baseline again)",
    profiled: false,
    load: async () => (await import("./handwritten.js")).handwrittenVariant({ expiry: true }),
  },
  {
    id: "mqtt-contracts",
    description: "generated client and server, Zod validation at both ends, `MqttCommunicator`",
    profiled: true,
    load: async () => (await import("./mqtt-contracts.js")).mqttContractsPeer("plain"),
  },
  {
    id: "mqtt-contracts-batched",
    description: "the same, with `batching: { bench_echo: { maxBatchSize: 64 } }` on the client",
    profiled: true,
    load: async () => (await import("./mqtt-contracts.js")).mqttContractsPeer("batched"),
  },
  {
    id: "mqtt-contracts-no-expiry",
    description: "the same as mqtt-contracts, with `requestExpiry: false` on the client: requests carry no MQTT 5 property (no deadline for handlers)",
    profiled: true,
    load: async () => (await import("./mqtt-contracts.js")).mqttContractsPeer("no-expiry"),
  },
  {
    id: "mqtt-contracts-no-dedup",
    description: "the same as mqtt-contracts, with `dedup: false` on the server: no at-most-once cache of recent requests (what that cache costs)",
    profiled: true,
    load: async () => (await import("./mqtt-contracts.js")).mqttContractsPeer("no-dedup"),
  },
  {
    id: "mqtt-contracts-qos0",
    description: "the same as mqtt-contracts, with `qos: 0` on client and server: no PUBACKs, and on NATS no JetStream (a request or answer lost on the way is lost)",
    profiled: true,
    load: async () => (await import("./mqtt-contracts.js")).mqttContractsPeer("qos0"),
  },
  {
    id: "mqtt-contracts-openmas",
    description: "the same as mqtt-contracts, in OpenMAS's built-in MQTT format (`wireFormat: \"openmas\"` on the server, `serviceWireFormats` on the client) instead of JSON-RPC",
    profiled: true,
    load: async () => (await import("./mqtt-contracts.js")).mqttContractsPeer("openmas"),
  },
  ...[1, 2, 4].map(
    (instances): SystemInfo => ({
      id: `mqtt-contracts-group-${instances}`,
      description: `the same as mqtt-contracts, with ${instances} server instance${instances === 1 ? "" : "s"} of one \`sharedGroup\` in the server process (one per worker thread): \`$share\` where the broker delivers it, instance topics elsewhere`,
      profiled: true,
      load: async () => (await import("./mqtt-contracts.js")).mqttContractsPeer(`group-${instances}`),
    }),
  ),
  {
    id: "moleculer",
    description: "Moleculer 0.14 service brokers, MQTT transporter, JSON serializer, params validated on the server",
    profiled: false,
    load: async () => (await import("./moleculer.js")).moleculerPeer,
  },
  {
    id: "nestjs",
    description: "NestJS 12 `Transport.MQTT` microservice and the shipped `ClientMqtt`, which subscribes and unsubscribes the reply topic around calls",
    profiled: false,
    load: async () => (await import("./nestjs.js")).nestjsPeer("shipped"),
  },
  {
    id: "nestjs-pinned",
    description: "the same server and `ClientMqtt`, with the reply topic subscribed once at start and kept",
    profiled: false,
    load: async () => (await import("./nestjs.js")).nestjsPeer("pinned"),
  },
];

export const BASELINE = "handwritten";

export function findSystem(id: string): SystemInfo {
  const system = SYSTEMS.find((candidate) => candidate.id === id);
  if (system === undefined) throw new Error(`unknown system ${JSON.stringify(id)}; known: ${SYSTEMS.map((s) => s.id).join(", ")}`);
  return system;
}
