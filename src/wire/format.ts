/**
 * The wire-format seam: what the RPC core asks of a format, and what a format hands back. JSON-RPC 2.0
 * (`jsonrpc/`) and OpenMAS's built-in MQTT format (`openmas/`) implement it; the core never asks which
 * one it is talking. A format owns its topics, its payloads and its error mapping; the core owns ids,
 * timeouts, deadlines, dedup, the concurrency gate, groups and the transport.
 */
import type { WireError } from "../errors/wire.js";
import type { Logger } from "../logger.js";
import type { WarningLimiter } from "../log/warning-limiter.js";
import type { InboundMessage, PublishProperties } from "../transport/transport.js";
import type { Params, RequestId } from "./values.js";

export type { Params, RequestId };

/** What a caller asks of a streaming call. */
export interface StreamRequest {
  /** Items the server may send before the caller grants more. */
  credit: number;
  /** The server aborts the handler when it hears nothing from the caller for this long, in ms. */
  idleMs: number;
}

/** A request as a format decoded it: what the dispatcher needs to run and answer it. */
export interface ServedRequest {
  id: RequestId;
  method: string;
  params: Params;
  /** The caller's deadline (its clock, ms since the epoch), when the request carries one. */
  deadline?: number | undefined;
  /** Present when the caller asks for a stream. */
  stream?: StreamRequest | undefined;
  /** A plain call whose caller sends signs of life: the server aborts the handler after this many ms without one. */
  alive?: number | undefined;
}

/** What a caller tells the server of a call in progress: it gave up (why; `timeout` when its deadline passed), or allows `granted` items in all. */
export type CallControl = { cancel: string; timeout?: boolean } | { granted: number };

/**
 * What a server's answers look like in one wire format. `cause` is what led to an error, when there is
 * more to know than the code: the value a handler threw, or `DEADLINE_PASSED`.
 */
export interface ReplyEncoder {
  /** Throws if the result cannot be carried by JSON. `items`: how many items a stream sent before it. */
  result(id: RequestId, value: unknown, items?: number): string;
  error(id: RequestId | null, error: WireError, cause?: unknown, items?: number): string;
  /** One item of a stream; absent in formats without streams. Throws if it cannot be carried by JSON. */
  item?(id: RequestId, seq: number, value: unknown): string;
}

/** The `cause` of an answer to a request whose caller's deadline had passed before it could run. */
export const DEADLINE_PASSED: unique symbol = Symbol("deadline passed");

/** Where a format hands what it decoded from a request or notification message: the dispatcher. */
export interface InboundSink {
  /**
   * Run `request` and answer it on `replyTo` in `replies`' format. `batch`: answers to entries of one
   * batch message that are ready together go out as one message (see `WireFormat.joinReplies`).
   */
  request(request: ServedRequest, message: InboundMessage, replyTo: string, replies: ReplyEncoder, properties: PublishProperties | undefined, batch: boolean): void;
  notification(method: string, params: Params, topic: string): void;
  /** Answer a message that reaches no handler (a broken request) with `body`, already encoded. */
  reply(topic: string, body: string, properties: PublishProperties | undefined, batch: boolean): void;
  /** The caller of request `id` (answered on `replyTo`) gave up (`timeout`: its deadline passed): abort its handler. */
  cancel(replyTo: string, id: RequestId, reason: string, timeout: boolean): void;
  /** The caller of stream `id` allows `granted` items in all (a running total; the same again: it is still there). */
  credit(replyTo: string, id: RequestId, granted: number): void;
}

/** What a call in flight was: for error messages and error mapping. */
export interface SentCall {
  target: string;
  method: string;
  timeoutMs: number;
}

/** Where a format hands the answers it decoded: the client's calls in flight. */
export interface AnswerSink {
  /** Whether `id` is a call in flight here. */
  expects(id: RequestId): boolean;
  /** What call `id` was; only for ids it `expects`. */
  sent(id: RequestId): SentCall;
  /** An answer to an id not in flight (late, unknown, a copy, or a second answer): the client decides which. */
  unexpected(id: RequestId | null, fingerprint: number): void;
  /**
   * Settle call `id`; `fingerprint` identifies the message, so that a redelivered copy is dropped as a copy.
   * `items`: for a stream, how many items the server says it sent.
   */
  settle(id: RequestId, outcome: "resolve" | "reject", value: unknown, fingerprint?: number, items?: number): void;
  /** Item `seq` of stream `id`. */
  item(id: RequestId, seq: number, value: unknown): void;
}

/** What a format needs from the communicator it serves. */
export interface FormatContext {
  agentName: string;
  /** The prefix this agent serves JSON-RPC-style topics under. */
  topicPrefix: string;
  /** Where answers to this instance's calls arrive in the default layout: `<topicPrefix>/response/<clientId>`. */
  responseTopic: string;
  serviceUrls: Readonly<Record<string, string>>;
  logger: Logger;
  warnings: WarningLimiter;
  maxPayloadBytes: number;
  /** Answer topics with more levels are never published to (a broker would disconnect us). */
  maxTopicLevels: number;
}

/** A route a format claims for a topic it reads. */
export type Route = "answer" | "request" | "notification";

/** One wire format, for the calls this agent makes in it and the requests it serves in it. */
export interface WireFormat {
  /** For messages: `JSON-RPC`, `OpenMAS`. */
  readonly title: string;
  /** Whether the format carries streams (and cancels). */
  readonly streams: boolean;
  /** Where this agent is served in the format, when it names the agent apart from `topicPrefix`; for the discovery record and group hashing. */
  readonly servedAs: string | undefined;

  // --- what this agent subscribes to
  /** Filters that bring answers to this agent's calls. */
  answerFilters(): string[];
  /** Filters that bring requests this agent serves (a group may share them as `$share/<group>/...`). */
  requestFilters(): string[];
  notificationFilters(): string[];
  /** What a topic this format subscribed to carries; `undefined` for topics not its own. */
  route(topic: string): Route | undefined;
  /** The method a notification topic names (for groups that deliver a notification to one instance). */
  methodOf(topic: string): string;

  // --- calls
  /** Throws `ConfigurationError` for a method name this format cannot carry. */
  checkMethod(method: string): void;
  /** Where a request for `method` to `service` (at `prefix`) goes; `instance` is a group member's request topic base, if one was chosen. */
  requestTopic(service: string, prefix: string, method: string, instance: string | undefined): string;
  /** `alive`: a plain call whose caller will send signs of life (formats with `streams`; others leave it out). */
  encodeRequest(id: string, service: string, method: string, params: Params, deadline: number | undefined, stream?: StreamRequest, alive?: number): string;
  /** A control message to the server of call `id` (formats with `streams`): a cancel with its reason, or more credit. */
  control?(service: string, prefix: string, id: string, control: CallControl): { topic: string; payload: string };
  notification(service: string, prefix: string, method: string, params: Params): { topic: string; payload: string };
  /** Where answers to calls to `service` arrive, for the hint in a timeout's message. */
  answersAt(service: string): string;
  /** Why one call got two different answers, for a warning: who serves `service`. `seen` lists the instances seen, if any. */
  duplicateCause(service: string, prefix: string, seen: string): string;
  /** Decode the answer(s) `message` carries and settle them through `sink`. Never throws. */
  readAnswers(message: InboundMessage, sink: AnswerSink): void;

  // --- serving
  /** Decode the request(s) or notification(s) `message` carries and hand them to `sink`. Never throws. */
  serve(message: InboundMessage, route: "request" | "notification", sink: InboundSink): void;

  // --- batches, for formats that have them
  /** Where a batch of requests to `prefix` goes; absent for formats without batches. */
  batchTopic?(prefix: string): string;
  /** One message of several encoded requests or answers. */
  joinReplies?(bodies: readonly string[]): string;
}

/** The kind of rate-limited warning for requests and notifications dropped unserved, shared by the formats and the dispatcher. */
export const DROPPED = "dropped requests and notifications that could not be served";
