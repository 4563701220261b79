import { z } from "zod";
import { DEFAULT_MAX_TOPIC_LEVELS, nameProblem, prefixProblem } from "../wire/names.js";
import { rootProblem } from "../wire/openmas/topics.js";
import {
  DEFAULT_CLOCK_SKEW_TOLERANCE_MS,
  DEFAULT_MAX_CONCURRENT_HANDLERS,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_MAX_QUEUED_REQUESTS,
  DEFAULT_SHARE_PROBE_MS,
  DEFAULT_STOP_GRACE_MS,
} from "./defaults.js";

const batchSettings = () =>
  z
    .object({
      /** At most this many requests in one batch; more are split. Default 64. */
      maxBatchSize: z.number().int().min(1).max(10_000).optional(),
      /** How long to wait for more requests, in ms. Default 0: only what is issued in the same event-loop turn. */
      maxWaitMs: z.number().min(0).max(60_000).optional(),
    })
    .strict();

/**
 * Options every transport-backed communicator takes; each type adds its own. The one description of
 * them: the settings type is inferred from it, and the defaults are the named constants of
 * `defaults.ts`. Built on each call, like the option schemas that spread it (see
 * `mqttCommunicatorOptionsSchema`).
 */
export const commonOptionsShape = () => ({
  /** Unique per instance; names the response topic. Default `<agent name>-<random>`. */
  clientId: z.string().refine((id) => nameProblem(id) === undefined, { error: (issue) => `clientId ${JSON.stringify(issue.input)} ${nameProblem(issue.input)}` }).optional(),
  /** The prefix this agent serves under. Default: the agent name. */
  topicPrefix: z.string().refine((p) => prefixProblem(p) === undefined, { error: (issue) => `topicPrefix ${JSON.stringify(issue.input)} ${prefixProblem(issue.input)}` }).optional(),
  /** Inbound payloads larger than this are refused. Default 1 MiB. */
  maxPayloadBytes: z.number().int().positive().default(DEFAULT_MAX_PAYLOAD_BYTES),
  /** How long `stop()` lets running handlers answer, in ms. Default 5 000. */
  stopGraceMs: z.number().int().min(0).default(DEFAULT_STOP_GRACE_MS),
  /**
   * Auto-batching per target service (a `serviceUrls` key): `{ arm: true }` or
   * `{ arm: { maxBatchSize: 32, maxWaitMs: 2 } }`. Off by default: OpenMAS's Python peers do not
   * understand JSON-RPC batches.
   */
  batching: z.record(z.string(), z.union([z.literal(true), batchSettings()])).optional(),
  /**
   * Send each request's deadline with it, twice: as the payload's `deadline` (milliseconds since the
   * epoch, on every protocol version) and, over MQTT 5, as the Message Expiry Interval (whole
   * seconds, rounded up), so the broker drops a request nobody took in time. A server does not start
   * a handler whose deadline has passed, and aborts the handler's `context.signal` at it. Default
   * true. Turning it off saves the property (measured on Mosquitto: ~14 µs per request one way, ~9 %
   * of throughput at 64 in flight) and the payload member; servers then see no deadline.
   */
  requestExpiry: z.boolean().default(true),
  /**
   * How far a caller's clock may run behind this server's before valid requests are refused as
   * expired. A payload `deadline` is the caller's clock; this server acts on it only once its own
   * clock is past `deadline + clockSkewToleranceMs`. Default 1 000 ms, for hosts synchronised by NTP;
   * raise it for hosts whose clocks drift further, or set `Infinity` to ignore payload deadlines. The
   * MQTT 5 Message Expiry Interval needs no allowance: the broker counts it down.
   */
  clockSkewToleranceMs: z.union([z.number().min(0), z.custom<number>((value) => value === Number.POSITIVE_INFINITY)]).default(DEFAULT_CLOCK_SKEW_TOLERANCE_MS),
  /**
   * Response topics with more levels are never published to (a broker disconnects a client that
   * publishes deeper than its limit). Default 200, Mosquitto's limit.
   */
  maxTopicLevels: z.number().int().min(1).max(65_535).default(DEFAULT_MAX_TOPIC_LEVELS),
  /**
   * At most this many request handlers run at once (handlers that return a promise; a plain value is
   * answered at once). Beyond it the transport stops reading, so further requests wait at the broker,
   * and one whose deadline passes meanwhile does not run. Default 1024. Handlers that call other services
   * through the same communicator and wait for them count too: keep it above what those can tie up.
   */
  maxConcurrentHandlers: z.number().int().min(1).max(1_000_000).default(DEFAULT_MAX_CONCURRENT_HANDLERS),
  /**
   * What happens to requests that come while all handlers run. `"queue"` (default): they wait, up to
   * `maxQueuedRequests` in this process and the rest at the broker, until a handler is free. `"reject"`:
   * once `maxQueuedRequests` wait, further ones are answered at once with `OverloadedError` (-32001;
   * 503 in the OpenMAS format), which callers may retry.
   */
  overload: z.enum(["queue", "reject"], { error: (issue) => `must be "queue" or "reject", got ${JSON.stringify(issue.input)}` }).default("queue"),
  /**
   * How many requests may wait in this process for a free handler. Default 256. Under `"queue"` the broker
   * holds the rest (their acknowledgements are held back); under `"reject"` the rest are turned away.
   */
  maxQueuedRequests: z.number().int().min(0).max(65_535).default(DEFAULT_MAX_QUEUED_REQUESTS),
  /**
   * How long, in seconds, the broker keeps this communicator's session (its subscriptions, and the requests
   * that come for it) after its connection ends, so that a reconnect or a restart with the same `clientId`
   * loses nothing. 0: a clean session. Default: 300 for a communicator that serves outside a `sharedGroup`;
   * 0 for members of a group (their work goes to the live members) and for communicators that only call.
   * Over MQTT 3.1.1, which has no expiry, a session is kept only with a `clientId` of your own.
   */
  sessionExpirySeconds: z.number().int().min(0).max(4_294_967_295).optional(),
  /**
   * Instances of a service that share one `sharedGroup` share its requests: each request runs on one live
   * instance. On brokers that deliver `$share` subscriptions (Mosquitto, EMQX, HiveMQ) the broker picks the
   * instance; elsewhere (aedes, NATS, RabbitMQ) callers spread their calls over the instances' own topics,
   * and requests from peers that know nothing of instances run on one instance chosen by a hash. One topic
   * level. Default: none, every instance runs every request.
   */
  sharedGroup: z
    .string()
    .refine((group) => nameProblem(group) === undefined && !group.includes("/"), {
      error: (issue) => `sharedGroup ${JSON.stringify(issue.input)} ${nameProblem(issue.input) ?? 'must be one topic level, without "/"'}`,
    })
    .optional(),
  /** `"auto"` (default) checks at start whether the broker delivers `$share`; `"shared"` or `"instances"` skip the check. */
  sharedRouting: z.enum(["auto", "shared", "instances"]).default("auto"),
  /** How long the `$share` check waits, in ms. Default 2 000. */
  shareProbeMs: z.number().int().min(1).max(60_000).default(DEFAULT_SHARE_PROBE_MS),
  /**
   * `"jsonrpc"` (default): JSON-RPC 2.0 on `<prefix>/request/<method>`, OpenMAS's MQTT example format.
   * `"openmas"`: OpenMAS's built-in MQTT communicator format. Calls then go to `<root>/<service>/request/<method>`
   * (the `serviceUrls` key is the target agent's name), and the agent also serves
   * `<root>/<agent name>/request|notification/#`, beside its JSON-RPC prefix.
   */
  wireFormat: z.enum(["jsonrpc", "openmas"]).optional(),
  /** Per target service (a `serviceUrls` key), the format to call it in, over `wireFormat`: `{ "planner": "openmas" }`. */
  serviceWireFormats: z.record(z.string(), z.enum(["jsonrpc", "openmas"])).optional(),
  /** OpenMAS's `topic_prefix`: the first level of OpenMAS-format topics, one level. Default `openmas`. */
  openmasTopicPrefix: z
    .string()
    .refine((root) => rootProblem(root) === undefined, { error: (issue) => `openmasTopicPrefix ${JSON.stringify(issue.input)} ${rootProblem(issue.input)}` })
    .optional(),
  /**
   * At-most-once execution: a duplicate request (same response topic and id, as a broker may redeliver)
   * within the window gets the first one's answer and does not run again. `false` turns it off.
   * Default `{ maxEntries: 10000, windowMs: 60000, maxAnswerBytes: 1048576 }`.
   */
  dedup: z
    .union([
      z.literal(false),
      z
        .object({
          maxEntries: z.number().int().min(1).max(10_000_000).optional(),
          windowMs: z.number().int().min(0).max(86_400_000).optional(),
          maxAnswerBytes: z.number().int().min(1024).max(1024 * 1024 * 1024).optional(),
        })
        .strict(),
    ])
    .optional(),
});

/** The options every communicator shares, alone: what a communicator type without options of its own validates. */
export const communicatorOptionsSchema = () => z.object(commonOptionsShape()).strict();

/** The settings the RPC core is built with: the options of `commonOptionsShape` as validated (defaults filled in). */
export type BaseCommunicatorSettings = z.output<ReturnType<typeof communicatorOptionsSchema>>;
