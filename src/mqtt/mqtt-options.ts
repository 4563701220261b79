import type { Duplex } from "node:stream";
import { z } from "zod";
import { commonOptionsShape } from "../communicator/options.js";
import { redactUrl } from "../log/redact.js";
import { isNodeBuffer } from "../platform/bytes.js";

/** A Buffer, checked without naming `Buffer`: these options are built in browsers too, where it does not exist (TLS files are Node's). */
const buffer = () => z.custom<Buffer>((value) => isNodeBuffer(value), { error: "must be a string or a Buffer" });
const pem = () => z.union([z.string(), buffer(), z.array(z.string()), z.array(buffer())]);

const URL_PROTOCOLS = ["mqtt:", "mqtts:", "ws:", "wss:"];

/**
 * The schema of the `mqtt` communicator's options. Unknown keys are refused, so a typo is an error
 * rather than a silently ignored setting.
 *
 * Built anew on each call and not kept: a communicator checks its options once, at construction, and
 * the option schemas held ~0.4 MiB that would otherwise stay alive for the life of the process (and
 * under load V8 grows the heap to ~4× what stays alive). Keep the result yourself if you validate often.
 */
export const mqttCommunicatorOptionsSchema = () =>
  z
    .object({
      ...commonOptionsShape(),
      /** Broker URL: `mqtt://`, `mqtts://`, `ws://` or `wss://`. Wins over `brokerHost`/`brokerPort`. */
      url: z
        .string()
        .refine((url) => URL.canParse(url) && URL_PROTOCOLS.includes(new URL(url).protocol), {
          error: (issue) => `must be a URL starting with mqtt://, mqtts://, ws:// or wss://, got ${redactUrl(JSON.stringify(issue.input))}`,
        })
        .optional(),
      /** Default `localhost`. */
      brokerHost: z.string().min(1).default("localhost"),
      /** Default 1883. */
      brokerPort: z.number().int().min(1).max(65_535).default(1883),
      username: z.string().optional(),
      password: z.string().optional(),
      /** TLS: trusted CA certificates (PEM). */
      ca: pem().optional(),
      /** TLS: client certificate (PEM). */
      cert: pem().optional(),
      /** TLS: client key (PEM). */
      key: pem().optional(),
      /** TLS: refuse a broker whose certificate does not verify. Default true. */
      rejectUnauthorized: z.boolean().optional(),
      /** Keepalive in seconds; 0 disables it. Default 60. */
      keepalive: z.number().int().min(0).max(65_535).default(60),
      /** `5`, `4` (3.1.1) or `"auto"`: try 5 and fall back to 3.1.1 if the broker refuses it. Default `"auto"`. */
      protocolVersion: z.union([z.literal(5), z.literal(4), z.literal("auto")], { error: (issue) => `must be 5, 4 or "auto", got ${JSON.stringify(issue.input)}` }).default("auto"),
      /** QoS of every publish and subscription. Default 1. */
      qos: z.union([z.literal(0), z.literal(1)], { error: (issue) => `must be 0 or 1, got ${JSON.stringify(issue.input)}` }).default(1),
      /** How long `start()` waits for the broker, in ms. Default 10 000. */
      connectTimeoutMs: z.number().int().positive().default(10_000),
      /**
       * Whether `start()` keeps retrying a refused TCP connection (no broker listening yet) until
       * `connectTimeoutMs`, as an agent started before its broker wants. `false` fails at once, as the CLI
       * does. Default true.
       */
      waitForBroker: z.boolean().default(true),
      /** Delay between reconnect attempts after the connection is lost, in ms. Default 1 000. */
      reconnectPeriodMs: z.number().int().positive().default(1_000),
      /**
       * Advanced: connect over streams from this function instead of a socket, e.g. to an in-process
       * broker (`EmbeddedBroker.connectStream`). Called again on every reconnect.
       */
      streamBuilder: z.custom<() => Duplex>((value) => typeof value === "function", { error: "streamBuilder must be a function returning a Duplex stream" }).optional(),
    })
    .strict();

/** What users pass as `communicatorOptions` for the `mqtt` type. */
export type MqttCommunicatorOptions = z.input<ReturnType<typeof mqttCommunicatorOptionsSchema>>;
export type ResolvedMqttOptions = z.output<ReturnType<typeof mqttCommunicatorOptionsSchema>>;
