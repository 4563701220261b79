/**
 * The baseline: RPC written by hand on mqtt.js, as a competent engineer would. One client per side,
 * JSON payloads, QoS 1 and the same protocol version as mqtt-contracts on each broker, one response
 * subscription made once at start, a Map of pending ids, and TCP_NODELAY on its sockets (as
 * mqtt-contracts sets). No validation, no per-request subscribe.
 *
 * Two reference variants take one feature of mqtt-contracts each, to show what that feature costs on
 * its own, outside our runtime: `zod` validates params on the server and results on the client with
 * Zod (the module is loaded only in that variant), and `expiry` gives each request the MQTT 5 Message
 * Expiry Interval property, as mqtt-contracts does by default.
 */
import { randomBytes } from "node:crypto";
import mqtt, { type IClientPublishOptions, type MqttClient } from "mqtt";
import { disableNagle, type BrokerTarget, type EchoClient, type EchoServer, type PeerSystem } from "./peer.js";

const REQUEST_TOPIC = "bench_handwritten/request/echo";

interface Request {
  id: number;
  method: string;
  params: { message: string };
  replyTo: string;
}

interface Response {
  id: number;
  result?: { message: string };
  error?: { message: string };
}

interface Pending {
  resolve(message: string): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

async function connect(target: BrokerTarget, role: string): Promise<MqttClient> {
  const client = await mqtt.connectAsync(target.url, { clientId: `bench_${role}_${randomBytes(4).toString("hex")}`, protocolVersion: target.protocolVersion, clean: true, reconnectPeriod: 1_000 });
  // Small RPC messages: without this, an answer written a few ticks after a PUBACK waits ~40 ms for a delayed ACK.
  disableNagle(client);
  return client;
}

export interface HandwrittenFeatures {
  /** Validate params (server) and results (client) with Zod. */
  readonly zod?: boolean;
  /** On MQTT 5, send each request with the Message Expiry Interval property (its timeout, in whole seconds). */
  readonly expiry?: boolean;
}

/** `{ message: string }` checked with Zod, when asked for. Zod is loaded only then: the plain baseline never imports it. */
async function messageCheck(zod: boolean | undefined): Promise<((value: unknown) => boolean) | undefined> {
  if (!zod) return undefined;
  const { z } = await import("zod");
  const schema = z.object({ message: z.string() });
  return (value) => schema.safeParse(value).success;
}

/** The baseline with no features (`{}`), or one of its reference variants. */
export function handwrittenVariant(features: HandwrittenFeatures): PeerSystem {
  return {
    async startServer(target) {
      const validParams = await messageCheck(features.zod);
      const client = await connect(target, "server");
      client.on("message", (_topic, payload) => {
        let request: Request;
        try {
          request = JSON.parse(payload.toString("utf8")) as Request;
        } catch {
          return; // not ours
        }
        if (typeof request.replyTo !== "string") return;
        const response: Response =
          request.method === "echo" && typeof request.params?.message === "string" && (validParams === undefined || validParams(request.params))
            ? { id: request.id, result: { message: request.params.message } }
            : { id: request.id, error: { message: `cannot serve ${String(request.method)}` } };
        client.publish(request.replyTo, JSON.stringify(response), { qos: target.qos });
      });
      await client.subscribeAsync(REQUEST_TOPIC, { qos: target.qos });
      return { close: () => client.endAsync() } satisfies EchoServer;
    },

    async startClient(target) {
      const validResult = await messageCheck(features.zod);
      const expiry = features.expiry === true && target.protocolVersion === 5;
      const client = await connect(target, "client");
      const replyTo = `bench_handwritten/response/${client.options.clientId}`;
      const pending = new Map<number, Pending>();
      let nextId = 0;
      client.on("message", (_topic, payload) => {
        let response: Response;
        try {
          response = JSON.parse(payload.toString("utf8")) as Response;
        } catch {
          return;
        }
        const call = pending.get(response.id);
        if (call === undefined) return; // late: it timed out already
        pending.delete(response.id);
        clearTimeout(call.timer);
        if (response.result !== undefined && (validResult === undefined || validResult(response.result))) call.resolve(response.result.message);
        else if (response.result !== undefined) call.reject(new Error("invalid result"));
        else call.reject(new Error(response.error?.message ?? "malformed response"));
      });
      await client.subscribeAsync(replyTo, { qos: target.qos });
      return {
        echo(message, timeoutMs) {
          const id = ++nextId;
          return new Promise<string>((resolve, reject) => {
            const timer = setTimeout(() => {
              pending.delete(id);
              reject(new Error(`echo ${id} timed out after ${timeoutMs} ms`));
            }, timeoutMs);
            pending.set(id, { resolve, reject, timer });
            const request: Request = { id, method: "echo", params: { message }, replyTo };
            const options: IClientPublishOptions = expiry ? { qos: target.qos, properties: { messageExpiryInterval: Math.ceil(timeoutMs / 1000) } } : { qos: target.qos };
            client.publish(REQUEST_TOPIC, JSON.stringify(request), options, (error) => {
              if (!error || !pending.has(id)) return;
              pending.delete(id);
              clearTimeout(timer);
              reject(error);
            });
          });
        },
        async close() {
          for (const call of pending.values()) clearTimeout(call.timer);
          pending.clear();
          await client.endAsync();
        },
      } satisfies EchoClient;
    },
  };
}
