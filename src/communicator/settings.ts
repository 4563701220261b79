import type { DedupSettings } from "./dedup-cache.js";
import type { OpenMasSettings } from "./openmas-endpoint.js";
import type { BatchSettings } from "./request-batcher.js";

/** Settings every transport-backed communicator shares, after its own options were validated. */
export interface BaseCommunicatorSettings extends OpenMasSettings {
  /** The prefix this agent serves under. Default: the agent name. */
  topicPrefix?: string | undefined;
  /** Unique per instance; names the response topic. Default: `<agent name>-<random>`. */
  clientId?: string | undefined;
  /** Larger inbound payloads are refused. Default 1 MiB. */
  maxPayloadBytes?: number | undefined;
  /** How long `stop()` lets running handlers answer. Default 5 000 ms. */
  stopGraceMs?: number | undefined;
  /**
   * Auto-batching, per target service (a `serviceUrls` key): requests issued to it in the same
   * event-loop turn go out as one JSON-RPC batch. Off by default, because OpenMAS's Python peers do
   * not understand batches. `true` uses the defaults (64 per batch, no extra wait).
   */
  batching?: Record<string, true | BatchSettings> | undefined;
  /**
   * Send each request's deadline with it, twice: as the payload's `deadline` (milliseconds since the
   * epoch, on every protocol version) and, over MQTT 5, as the Message Expiry Interval (whole
   * seconds, rounded up), so the broker drops a request nobody took in time. A server does not start
   * a handler whose deadline has passed, and aborts the handler's `context.signal` at it. Default
   * true. Turning it off saves the property (measured on Mosquitto: ~14 µs per request one way, ~9 %
   * of throughput at 64 in flight) and the payload member; servers then see no deadline.
   */
  requestExpiry?: boolean | undefined;
  /**
   * How far a caller's clock may run behind this server's before valid requests are refused as
   * expired. A payload `deadline` is the caller's clock; this server acts on it only once its own
   * clock is past `deadline + clockSkewToleranceMs`. Default 1 000 ms, for hosts synchronised by NTP;
   * raise it for hosts whose clocks drift further, or set `Infinity` to ignore payload deadlines. The MQTT 5 Message Expiry Interval needs no
   * allowance: the broker counts it down.
   */
  clockSkewToleranceMs?: number | undefined;
  /**
   * Response topics with more levels than this are never published to: a broker disconnects a client
   * that publishes to a topic deeper than its limit. Default 200, Mosquitto's limit.
   */
  maxTopicLevels?: number | undefined;
  /**
   * At-most-once execution: a request with the same response topic and id as one taken recently (a
   * broker redelivery) does not run its handler again and gets the same answer. `false` turns it off.
   * Default `{ maxEntries: 10_000, windowMs: 60_000 }`.
   */
  dedup?: false | DedupSettings | undefined;
  /**
   * At most this many request handlers run at once (handlers that return a promise; a plain value is
   * answered at once). Beyond it the transport stops reading, so further requests wait at the broker,
   * and one whose deadline passes meanwhile does not run. Default 1024. Handlers that call other services
   * through the same communicator and wait for them count too: keep it above what those can tie up.
   */
  maxConcurrentHandlers?: number | undefined;
  /**
   * Requests that come while all handlers run: `"queue"` (default) lets them wait, `maxQueuedRequests` of
   * them in this process (unacknowledged) and the rest at the broker; `"reject"` answers those beyond
   * `maxQueuedRequests` at once with `OverloadedError`, a retryable error, instead of letting callers
   * find out at their timeout.
   */
  overload?: "queue" | "reject" | undefined;
  /** How many requests may wait in this process for a free handler. Default 256. */
  maxQueuedRequests?: number | undefined;
  /**
   * How long the broker keeps this communicator's session after its connection ends, in seconds (see the
   * option's description in `common-options.ts`). Default: 300 when it serves outside a group, else 0.
   */
  sessionExpirySeconds?: number | undefined;
  /**
   * Instances of a service that share one `sharedGroup` share its requests: each request runs on one live
   * instance. On brokers that deliver `$share` subscriptions (Mosquitto, EMQX, HiveMQ) the broker picks the
   * instance; elsewhere (aedes, NATS, RabbitMQ) callers spread their calls over the instances' own topics,
   * and requests from peers that know nothing of instances run on one instance chosen by a hash. Default:
   * no group, every instance runs every request.
   */
  sharedGroup?: string | undefined;
  /**
   * How a `sharedGroup` shares requests: `"auto"` (default) checks at `start()` whether the broker
   * delivers `$share` subscriptions; `"shared"` or `"instances"` skip that check. Every instance of a
   * group must end up with the same routing.
   */
  sharedRouting?: "auto" | "shared" | "instances" | undefined;
  /** How long the `$share` check at `start()` waits, in ms. Default 2 000. */
  shareProbeMs?: number | undefined;
}
