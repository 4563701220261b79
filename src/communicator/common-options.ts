import { z } from "zod";
import { nameProblem, prefixProblem } from "../wire/names.js";
import { rootProblem } from "../wire/openmas/topics.js";
import { DEFAULT_MAX_PAYLOAD_BYTES, DEFAULT_STOP_GRACE_MS } from "./defaults.js";

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
 * Options every transport-backed communicator takes; each type adds its own. Built on each call, like
 * the option schemas that spread it (see `mqttCommunicatorOptionsSchema`).
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
   * Send each request's deadline with it (payload `deadline`, and the MQTT 5 Message Expiry Interval),
   * so servers do not start stale requests and handlers see the caller's deadline. Default true.
   */
  requestExpiry: z.boolean().default(true),
  /**
   * How far a caller's clock may run behind this server's before its requests count as expired. Default
   * 1 000 ms; `Infinity` ignores the deadline in request payloads.
   */
  clockSkewToleranceMs: z.union([z.number().min(0), z.custom<number>((value) => value === Number.POSITIVE_INFINITY)]).optional(),
  /**
   * Response topics with more levels are never published to (a broker disconnects a client that
   * publishes deeper than its limit). Default 200, Mosquitto's limit.
   */
  maxTopicLevels: z.number().int().min(1).max(65_535).optional(),
  /**
   * At most this many request handlers run at once; beyond it the communicator stops reading, so more
   * requests wait at the broker. Default 1024.
   */
  maxConcurrentHandlers: z.number().int().min(1).max(1_000_000).optional(),
  /**
   * What happens to requests that come while all handlers run. `"queue"` (default): they wait, up to
   * `maxQueuedRequests` in this process and the rest at the broker, until a handler is free. `"reject"`:
   * once `maxQueuedRequests` wait, further ones are answered at once with `OverloadedError` (-32001;
   * 503 in the OpenMAS format), which callers may retry.
   */
  overload: z.enum(["queue", "reject"], { error: (issue) => `must be "queue" or "reject", got ${JSON.stringify(issue.input)}` }).optional(),
  /**
   * How many requests may wait in this process for a free handler. Default 256. Under `"queue"` the broker
   * holds the rest (their acknowledgements are held back); under `"reject"` the rest are turned away.
   */
  maxQueuedRequests: z.number().int().min(0).max(65_535).optional(),
  /**
   * How long, in seconds, the broker keeps this communicator's session (its subscriptions, and the requests
   * that come for it) after its connection ends, so that a reconnect or a restart with the same `clientId`
   * loses nothing. 0: a clean session. Default: 300 for a communicator that serves outside a `sharedGroup`;
   * 0 for members of a group (their work goes to the live members) and for communicators that only call.
   * Over MQTT 3.1.1, which has no expiry, a session is kept only with a `clientId` of your own.
   */
  sessionExpirySeconds: z.number().int().min(0).max(4_294_967_295).optional(),
  /**
   * Instances with the same `sharedGroup` share the requests of their prefix: each runs on one live
   * instance. One topic level. Default: none, every instance runs every request.
   */
  sharedGroup: z
    .string()
    .refine((group) => nameProblem(group) === undefined && !group.includes("/"), {
      error: (issue) => `sharedGroup ${JSON.stringify(issue.input)} ${nameProblem(issue.input) ?? 'must be one topic level, without "/"'}`,
    })
    .optional(),
  /** `"auto"` (default) checks at start whether the broker delivers `$share`; `"shared"` or `"instances"` skip the check. */
  sharedRouting: z.enum(["auto", "shared", "instances"]).optional(),
  /** How long the `$share` check waits, in ms. Default 2 000. */
  shareProbeMs: z.number().int().min(1).max(60_000).optional(),
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
