/**
 * The systems of the streaming bench (bench/stream.ts): a server that streams `n` items of ~100 bytes
 * (`{ i, text }`) when asked, and a client that asks for one stream and takes its items.
 *
 * - `floor`: mqtt.js by hand. The client publishes a start message (`{ topic, items, window }`, QoS 1); the
 *   server publishes the items at QoS 1 to that topic, all in one loop (window 0) or keeping at most `window`
 *   of them unacknowledged by the broker (PUBACK); the client, subscribed to it, parses and counts them. No
 *   envelope, no credit from the consumer, no validation, no result.
 * - `mqtt-contracts`: `registerHandler` with an async generator; `sendStream` with the given credit.
 * - `mqtt-contracts-contract`: the same through a contract with a Zod `yields` (registerService +
 *   ServiceClient.stream): each item is validated on both ends.
 */
import { randomBytes } from "node:crypto";
import mqtt, { type MqttClient } from "mqtt";
import { defineService, MqttCommunicator, registerService, ServiceClient, type CallStream, type MqttCommunicatorOptions } from "mqtt-contracts";
import { z } from "zod";
import { disableNagle, type BrokerTarget } from "./peer.js";

export interface BenchItem {
  i: number;
  text: string;
}

/** 80 characters: `{"i":12345,"text":"…"}` is ~100 bytes of JSON. */
export const TEXT = "the quick brown fox jumps over the lazy dog while the robot arm reports progress.".slice(0, 80);

export interface StreamServer {
  close(): Promise<void>;
}

/** Called with each item in order; a promise holds the consumer back (a slow reader) until it settles. */
export type OnItem = (item: BenchItem) => void | Promise<void>;

export interface StreamClient {
  /** Ask for one stream of `items` items and take them; resolves with how many came once the stream has ended. */
  /** `credit`: what mqtt-contracts grants; for the floor, how many items its publisher may have unacknowledged (0: no limit). */
  stream(items: number, credit: number, onItem: OnItem, timeoutMs: number): Promise<number>;
  close(): Promise<void>;
}

export interface StreamSystem {
  startServer(target: BrokerTarget): Promise<StreamServer>;
  startClient(target: BrokerTarget): Promise<StreamClient>;
}

export type StreamSystemId = "floor" | "mqtt-contracts" | "mqtt-contracts-contract";

export function streamSystem(id: StreamSystemId): StreamSystem {
  return id === "floor" ? floor : mqttContracts(id === "mqtt-contracts-contract");
}

// ---------------------------------------------------------------------------------------------- floor

const START_TOPIC = "bench_stream_floor/start";

async function connect(target: BrokerTarget, role: string): Promise<MqttClient> {
  const client = await mqtt.connectAsync(target.url, { clientId: `bench_stream_${role}_${randomBytes(4).toString("hex")}`, protocolVersion: target.protocolVersion, clean: true, reconnectPeriod: 1_000 });
  disableNagle(client);
  return client;
}

const floor: StreamSystem = {
  async startServer(target) {
    const client = await connect(target, "server");
    client.on("message", (_topic, payload) => {
      let start: { topic?: unknown; items?: unknown; window?: unknown };
      try {
        start = JSON.parse(payload.toString("utf8")) as typeof start;
      } catch {
        return;
      }
      const { topic, items, window } = start;
      if (typeof topic !== "string" || !Number.isInteger(items) || !Number.isInteger(window)) return;
      // All at once (window 0), or at most `window` not yet acknowledged by the broker.
      let i = 0;
      let unacked = 0;
      const acked = () => {
        unacked--;
        publish();
      };
      const publish = () => {
        while (i < (items as number) && (window === 0 || unacked < (window as number))) {
          unacked++;
          client.publish(topic, JSON.stringify({ i: i++, text: TEXT }), { qos: target.qos }, acked);
        }
      };
      publish();
    });
    await client.subscribeAsync(START_TOPIC, { qos: target.qos });
    return { close: () => client.endAsync() };
  },

  async startClient(target) {
    const client = await connect(target, "client");
    const prefix = `bench_stream_floor/items/${client.options.clientId}`;
    let next = 0;
    let current: { topic: string; items: number; received: number; onItem: OnItem; done(): void } | undefined;
    client.on("message", (topic, payload) => {
      const stream = current;
      if (stream === undefined || topic !== stream.topic) return; // a stream that timed out
      const item = JSON.parse(payload.toString("utf8")) as BenchItem;
      stream.received++;
      void stream.onItem(item);
      if (stream.received === stream.items) stream.done();
    });
    await client.subscribeAsync(`${prefix}/+`, { qos: target.qos });
    return {
      /** `window`: how many items the server may have unacknowledged by the broker (0: no limit). */
      stream(items, window, onItem, timeoutMs) {
        const topic = `${prefix}/${++next}`;
        return new Promise<number>((resolve, reject) => {
          const timer = setTimeout(() => {
            const received = current?.received ?? 0;
            current = undefined;
            reject(new Error(`floor stream: ${received} of ${items} items after ${timeoutMs} ms`));
          }, timeoutMs);
          current = {
            topic,
            items,
            received: 0,
            onItem,
            done() {
              clearTimeout(timer);
              current = undefined;
              resolve(items);
            },
          };
          if (items === 0) return current.done();
          client.publish(START_TOPIC, JSON.stringify({ topic, items, window }), { qos: target.qos });
        });
      },
      close: () => client.endAsync(),
    };
  },
};

// ----------------------------------------------------------------------------------- mqtt-contracts

const SERVICE = "bench_stream";
const SERVER_PREFIX = "bench_stream_server";

const StreamBench = defineService({
  name: SERVICE,
  methods: {
    items: {
      params: z.object({ n: z.number().int().min(0) }),
      yields: z.object({ i: z.number().int().min(0), text: z.string() }),
      result: z.object({ count: z.number().int() }),
    },
  },
});

async function* items({ n }: { n: number }): AsyncGenerator<BenchItem, { count: number }> {
  for (let i = 0; i < n; i++) yield { i, text: TEXT };
  return { count: n };
}

function options(target: BrokerTarget, extra: Partial<MqttCommunicatorOptions> = {}): MqttCommunicatorOptions {
  return { url: target.url, protocolVersion: "auto", qos: target.qos, ...extra };
}

function mqttContracts(contract: boolean): StreamSystem {
  return {
    async startServer(target) {
      const communicator = new MqttCommunicator({ agentName: "bench_stream_server", options: options(target, { topicPrefix: SERVER_PREFIX }) });
      if (contract) registerService(communicator, StreamBench, { items });
      else communicator.registerHandler("items", items);
      await communicator.start();
      return { close: () => communicator.stop() };
    },

    async startClient(target) {
      const communicator = new MqttCommunicator({ agentName: "bench_stream_client", serviceUrls: { [SERVICE]: SERVER_PREFIX }, options: options(target) });
      await communicator.start();
      const client = new ServiceClient(communicator, StreamBench, SERVICE);
      return {
        async stream(n, credit, onItem, timeoutMs) {
          const stream = (
            contract ? client.stream("items", { n }, { credit, timeoutMs }) : communicator.sendStream<BenchItem, { count: number }>(SERVICE, "items", { n }, { credit, timeoutMs })
          ) as CallStream<BenchItem, { count: number }>;
          let received = 0;
          for await (const item of stream) {
            received++;
            const held = onItem(item);
            if (held !== undefined) await held;
          }
          const { count } = await stream.result;
          if (count !== n) throw new Error(`the stream's result says ${count} items, ${n} asked`);
          return received;
        },
        close: () => communicator.stop(),
      };
    },
  };
}
