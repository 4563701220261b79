import type { Logger } from "../logger.js";
import type { CallStream } from "./call-stream.js";
import type { Params, RequestId } from "../wire/values.js";

/** Per-call options of `sendRequest`. */
export interface RequestOptions {
  /** How long to wait for the response, in milliseconds. Default 30 000. Must be a positive number. */
  timeoutMs?: number;
  /** Aborting it ends the call at once with `RequestAbortedError`; a late response is dropped. */
  signal?: AbortSignal;
  /**
   * The server aborts the handler when it hears nothing from the caller for this long, in ms (a caller that
   * died). A plain call whose `timeoutMs` is longer says it is alive every `idleTimeoutMs / 3` while it waits
   * (JSON-RPC format); a shorter one runs at most to its deadline anyway. Default 30 000.
   */
  idleTimeoutMs?: number;
}

/** Per-call options of a streaming call (`sendStream`, a generated client's streaming method). */
export interface StreamOptions extends RequestOptions {
  /**
   * How many items the server may send ahead of the consumer: the caller grants this much credit at the start,
   * and more as items are taken, so a slow consumer holds the server back at its `yield`. Default 256 (measured: at 32 the server waits for credit most of the time; `npm run bench:stream`).
   */
  credit?: number;
  /**
   * The stream fails with `RequestTimeoutError` when no item (or result) comes for this long, in ms; the server
   * aborts the handler when it hears nothing from the caller for this long (a caller that died). Default 30 000.
   */
  idleTimeoutMs?: number;
}

/** What a handler learns about the call it is serving. */
export interface HandlerContext {
  /** The JSON-RPC id of the request; `undefined` for a notification. */
  readonly id: RequestId | undefined;
  readonly method: string;
  /** The topic the message arrived on. */
  readonly topic: string;
  /**
   * Fires when the caller's deadline has passed (known from the request's `deadline` and, over MQTT 5,
   * its Message Expiry Interval) or when the communicator stops.
   */
  readonly signal: AbortSignal;
}

/** A JSON Schema document, as plain JSON. */
export type JsonSchema = Record<string, unknown>;

/**
 * What a handler serves, for `rpc.discover`, the discovery record and instance groups. `registerService`
 * fills it from the contract (its schemas converted to JSON Schema once, at registration); a bare
 * `registerHandler` may leave it out.
 */
export interface HandlerOptions {
  /** A method answers requests; a notification is never answered. Unknown when left out. */
  kind?: "method" | "notification";
  /** The contract (service) the handler belongs to. */
  service?: string;
  /** The contract's version, for the OpenRPC document. */
  version?: string;
  description?: string;
  /** The JSON Schema of the params object. */
  params?: JsonSchema;
  /** The JSON Schema of the result (methods only). */
  result?: JsonSchema;
  /** The errors it may answer with, by name. */
  errors?: Record<string, { code: number }>;
  /** The JSON Schema of each item, for a method that streams (its handler is an async generator). */
  items?: JsonSchema;
  /**
   * Notifications in a `sharedGroup`: `"all"` (default) runs the handler on every instance of the group,
   * `"one"` on one instance only.
   */
  delivery?: "all" | "one";
}

/**
 * A request or notification handler. Its return value is the JSON-RPC result; a handler of a streaming
 * method is an async generator: it yields the items and returns the result.
 */
export type Handler<P = Params, R = unknown> = (params: P, context: HandlerContext) => R | Promise<R>;

/** Everything a communicator class is constructed with. The plugin registry builds it from an agent config. */
export interface CommunicatorInit<Options = unknown> {
  /** The agent's name; the default topic prefix and client id stem. */
  agentName: string;
  /** Service name → MQTT topic prefix of that service. */
  serviceUrls?: Record<string, string>;
  /** Communicator-specific options, validated by the communicator. */
  options?: Options;
  /** Where the runtime logs. Default: stderr at the `MQTT_CONTRACTS_LOG_LEVEL` level (default `warn`). */
  logger?: Logger;
}

/** The contract every communicator fulfils: built-in (`mqtt`, `memory`) or from a plugin. */
export interface Communicator {
  readonly agentName: string;
  /** Connect and subscribe. Rejects with `CommunicationError` if that fails. */
  start(): Promise<void>;
  /**
   * Reject every pending request, let running handlers answer (within the grace period), then
   * disconnect. Idempotent.
   */
  stop(): Promise<void>;
  /**
   * Call a streaming `method` on `targetService`: its items as they come, then its result. Communicators
   * without streams leave it out.
   */
  sendStream?<I = unknown, R = unknown>(targetService: string, method: string, params?: Params, options?: StreamOptions): CallStream<I, R>;
  /** Call `method` on `targetService` and wait for its result. */
  sendRequest<R = unknown>(targetService: string, method: string, params?: Params, options?: RequestOptions): Promise<R>;
  /**
   * Publish a notification; no answer comes back. Resolves once the broker acknowledged it (QoS 1)
   * or it was written (QoS 0); during a broker outage it waits for the reconnect or `stop()`.
   */
  sendNotification(targetService: string, method: string, params?: Params): Promise<void>;
  /**
   * Serve `method`, for requests and notifications alike. Returns a function that unregisters it.
   * `options` describe it for `rpc.discover` and instance groups; communicators may ignore them.
   */
  registerHandler<P = Params, R = unknown>(method: string, handler: Handler<P, R>, options?: HandlerOptions): () => void;
}

/** A communicator class, as registered in the plugin registry. */
export type CommunicatorClass = new (init: CommunicatorInit<any>) => Communicator;
