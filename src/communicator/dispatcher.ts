import { ErrorCode } from "../errors/codes.js";
import { CommunicationError, RpcError } from "../errors/errors.js";
import { errorToWire, type WireError } from "../errors/wire.js";
import type { Logger } from "../logger.js";
import { decodeInbound, describe, encodeError, isPlainObject, isRequestId, type DecodedInbound, type Params, type RequestId, type RequestMessage } from "../wire/jsonrpc.js";
import { DEADLINE_PASSED, jsonRpcReplies, type ReplyEncoder } from "../wire/reply.js";
import { responseTopicProblem } from "../wire/names.js";
import type { TopicKind } from "../wire/topics.js";
import { readPayload, type UnreadablePayload } from "../wire/payload.js";
import type { WarningLimiter } from "../log/warning-limiter.js";
import type { DedupCache } from "./dedup-cache.js";
import { HandlerCall } from "./handler-call.js";
import { ResponseCoalescer } from "./response-coalescer.js";
import { SequenceMap } from "./sequence-map.js";
import type { InboundMessage, PublishProperties } from "./transport.js";
import type { Handler } from "./types.js";
import type { ServiceStats } from "../instances/stats.js";

function noop(): void {}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}

/** A request, in whichever wire format it came: what the dispatcher needs to run and answer it. */
export type ServedRequest = Pick<RequestMessage, "id" | "method" | "params" | "deadline">;

/** A handler that has not finished yet: its context, and a promise that settles when it has answered. */
interface RunningHandler {
  call: HandlerCall;
  done: Promise<void>;
}

export interface DispatcherDeps {
  publish(topic: string, payload: string, properties?: PublishProperties): Promise<void>;
  logger: Logger;
  maxPayloadBytes: number;
  /** Response topics with more levels are never published to (a broker would disconnect us). */
  maxTopicLevels: number;
  /** Where warnings about bad input go, rate-limited per kind. */
  warnings: WarningLimiter;
  /** Requests taken recently, so a redelivered duplicate does not run again; undefined when turned off. */
  dedup: DedupCache | undefined;
  /** A payload `deadline` (the caller's clock) counts as passed only this long after it, by ours. */
  clockSkewToleranceMs: number;
  /** Names this service in logs. */
  name: string;
  /** Where finished requests are counted, per method (only methods with a registered handler). */
  stats?: ServiceStats | undefined;
  /** Methods every server answers unless a handler of its own takes the name (`rpc.discover`, `rpc.stats`). */
  builtins?: ReadonlyMap<string, Handler<any, any>> | undefined;
}

/** Kinds of rate-limited warning: what a flood of bad input repeats. */
const DROPPED = "dropped requests and notifications that could not be served";
const HANDLER_THREW = "handlers that threw";
const NO_HANDLER = "notifications with no handler";
const EXPIRED = "requests whose deadline passed before they could run";
const DUPLICATES = "duplicates of requests whose answers are no longer kept";
const OVERLOADED = "requests turned away as overloaded";

/** What a server does with requests that come while all its handlers run: see `overload` in the options. */
export type OverloadPolicy = "queue" | "reject";

/**
 * The server side of the RPC core: decodes requests and notifications from the network, runs
 * handlers, and answers. Everything from the network is hostile here: nothing it sends may throw
 * out of `dispatch`, and every request with a usable response topic gets an answer.
 */
export class Dispatcher {
  readonly handlers = new Map<string, Handler<any, any>>();
  /** Handlers still running (those that returned a promise), by start number; see `SequenceMap` for why not a `Set`. */
  private readonly running = new SequenceMap<number, RunningHandler>((started) => started);
  private started = 0;
  private readonly batchReplies: ResponseCoalescer;
  private accepting = true;
  /** Request handlers running now (promise-returning ones). */
  private runningRequests = 0;
  /**
   * At most this many request handlers run at once (those that return a promise; a plain value is
   * answered at once). Requests beyond wait, and `inboundGate` tells the transport to stop reading.
   * No limit until `limitConcurrency`: only a transport that can hold back what it reads gets one.
   */
  private maxConcurrentHandlers = Number.POSITIVE_INFINITY;
  /**
   * Requests read while `maxConcurrentHandlers` were running, each waiting for a free handler. The
   * transport does not acknowledge such a request until it starts (`inboundGate`), so the broker, whose
   * window of unacknowledged messages is bounded, holds the rest. Under `overload: "reject"` at most
   * `maxQueued` wait; more are answered at once with `Overloaded`.
   */
  private readonly waiting: (() => void)[] = [];
  /** When each request the message being delivered queued will have started: what `inboundGate` hands out. */
  private queuedNow: Promise<void>[] | undefined;
  private overload: OverloadPolicy = "queue";
  /**
   * Whether a request's acknowledgement waits for its answer (a kept session: the broker delivers it again if
   * this process dies first), or only until it starts (a clean session, where that would not help, and where
   * brokers with small windows, RabbitMQ's 10 and Mosquitto's 20 under 3.1.1, would cap the running handlers).
   */
  private untilAnswered = true;

  /** Set once connected: see `untilAnswered`. */
  holdUntilAnswered(kept: boolean): void {
    this.untilAnswered = kept;
  }

  /** Whether the transport can hold acknowledgements (`limitConcurrency` with a limit). */
  private holdsAcks = false;
  /** Whether the transport holds acknowledgements (`limitConcurrency` with "queue"): then `queuedNow` is kept. */
  private gated = false;
  private maxQueued = Number.POSITIVE_INFINITY;

  constructor(private readonly deps: DispatcherDeps) {
    this.batchReplies = new ResponseCoalescer((topic, payload, properties) => this.answer(topic, payload, properties));
  }

  dispatch(kind: TopicKind, message: InboundMessage): void {
    this.delivering = true;
    try {
      this.dispatchUnsafe(kind, message);
    } catch (error) {
      // Only a bug of ours can land here; it must still not take the service down.
      this.deps.logger.error(`${this.deps.name}: failed to dispatch a message on ${message.topic}`, { error });
    } finally {
      this.delivering = false;
    }
  }

  /** True while a message the transport is delivering is dispatched: answers published now are its. */
  private delivering = false;

  /**
   * Serve a request another wire format decoded (the OpenMAS format): run as one that came in JSON-RPC,
   * with the same limits, deadline, dedup and stop rules, and answered on `responseTopic` in `replies`' format.
   */
  serveRequest(request: ServedRequest, message: InboundMessage, responseTopic: string, replies: ReplyEncoder): void {
    this.delivering = true;
    try {
      this.startRequest(request, message, responseTopic, (body) => this.answer(responseTopic, body, undefined), replies);
    } catch (error) {
      this.deps.logger.error(`${this.deps.name}: failed to serve a request on ${message.topic}`, { error });
    } finally {
      this.delivering = false;
    }
  }

  /** Publish an answer that never reaches a handler (a request another format found broken). */
  reply(topic: string, body: string): void {
    void this.answer(topic, body, undefined);
  }

  /** Serve a notification another wire format decoded. */
  serveNotification(method: string, params: Params, topic: string): void {
    try {
      this.runNotification(method, params, topic);
    } catch (error) {
      this.deps.logger.error(`${this.deps.name}: failed to serve a notification on ${topic}`, { error });
    }
  }

  /**
   * Set the limit of concurrent request handlers (the transport can hold back what it reads), and what
   * happens to requests beyond it: they wait (`queue`), or past `maxQueued` waiting ones they are
   * answered at once with `Overloaded` (`reject`).
   */
  limitConcurrency(max: number, overload: OverloadPolicy = "queue", maxQueued = Number.POSITIVE_INFINITY): void {
    this.maxConcurrentHandlers = max;
    // Under "reject" the broker must go on sending, so that what is beyond the queue is turned away at
    // once: messages are acknowledged as they come, and a server that dies loses what it had taken.
    this.gated = overload === "queue" && Number.isFinite(max);
    this.holdsAcks = Number.isFinite(max);
    this.overload = overload;
    this.maxQueued = maxQueued;
  }

  /**
   * Asked by the transport right after it delivered a message: undefined when everything that message
   * carried was answered at once; otherwise a promise that resolves once all of it has been answered
   * (or refused) and the broker has taken the answers (a QoS 1 answer may wait in the client's queue
   * while the broker's own window is full). The transport acknowledges the message only then: the broker counts it as in flight,
   * its bounded window of unacknowledged messages keeps the rest at the broker, and a request whose
   * server dies before answering it is delivered again (to the same persistent session) instead of lost.
   */
  inboundGate(): Promise<void> | undefined {
    const queued = this.queuedNow;
    if (queued === undefined) return undefined;
    this.queuedNow = undefined;
    return queued.length === 1 ? queued[0] : Promise.all(queued).then(() => undefined);
  }

  /** Stop taking calls, wait up to `graceMs` for running handlers, then abort the rest. */
  async drain(graceMs: number): Promise<void> {
    this.accepting = false;
    // Requests still waiting for a handler are answered as refused (runRequest sees !accepting).
    for (const start of this.waiting.splice(0)) start();
    if (this.running.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
      await Promise.race([Promise.allSettled(this.running.values().map(({ done }) => done)), grace]);
      clearTimeout(timer);
    }
    const reason = new CommunicationError(`${this.deps.name} stopped`);
    for (const { call } of this.running.values()) call.abort(reason);
    // Handed to the transport now; not awaited: with the broker unreachable a QoS 1 publish waits for a
    // reconnect, and the transport's close bounds how long what is in flight may take.
    void this.batchReplies.flush();
  }

  private dispatchUnsafe(kind: TopicKind, message: InboundMessage): void {
    const { maxPayloadBytes, name, warnings } = this.deps;
    let value: unknown;
    try {
      value = readPayload(message.payload, maxPayloadBytes);
    } catch (error) {
      const unreadable = error as UnreadablePayload;
      const wire = unreadable.problem === "too-large" ? { code: ErrorCode.InvalidRequest, message: `Invalid Request: ${unreadable.message}` } : { code: ErrorCode.ParseError, message: `Parse error: ${unreadable.message}` };
      this.answerInvalid(message, null, wire, undefined, kind);
      return;
    }
    if (Array.isArray(value)) {
      this.dispatchBatch(kind, message, value);
      return;
    }
    const decoded = decodeInbound(value, kind);
    if (decoded.kind === "invalid") {
      this.answerInvalid(message, decoded.id, decoded.error, decoded.responseTopic, kind);
      return;
    }
    if (decoded.kind === "notification") {
      this.runNotification(decoded.message.method, decoded.message.params, message.topic);
      return;
    }
    const responseTopic = this.responseTopicOf(message, decoded.message.response_topic);
    if (responseTopic === undefined) {
      warnings.warn(DROPPED, () => `${name}: dropped request ${describe(decoded.message.id)} for ${decoded.message.method}: ${this.noResponseTopicReason(message, decoded.message.response_topic)}; it gets no answer`);
      return;
    }
    const properties = message.correlationData === undefined ? undefined : { correlationData: message.correlationData };
    this.startRequest(decoded.message, message, responseTopic, (body) => this.answer(responseTopic, body, properties));
  }

  /**
   * A JSON-RPC batch: each entry is a request (it has an `id`) or a notification, and is served and
   * answered on its own, as if it had come alone; answers that are ready together go out as one array.
   * Broken entries get per-entry errors; a batch of notifications gets no answer at all.
   */
  private dispatchBatch(kind: TopicKind, message: InboundMessage, entries: unknown[]): void {
    if (entries.length === 0) {
      this.answerInvalid(message, null, { code: ErrorCode.InvalidRequest, message: "Invalid Request: empty batch" }, undefined, kind);
      return;
    }
    // Where entries without a usable response topic of their own are answered: the MQTT 5 property
    // (responseTopicOf prefers it), else the first usable response topic in the batch.
    let batchTopic: string | undefined;
    const properties = message.correlationData === undefined ? undefined : { correlationData: message.correlationData };
    const seen = new Map<RequestId, number>();
    for (const entry of entries) {
      if (!isPlainObject(entry)) continue;
      batchTopic ??= this.responseTopicOf(message, entry.response_topic);
      if (isRequestId(entry.id)) seen.set(entry.id, (seen.get(entry.id) ?? 0) + 1);
    }
    for (const entry of entries) {
      const entryKind = kind === "notification" || (isPlainObject(entry) && !("id" in entry)) ? "notification" : "request";
      const duplicate = isPlainObject(entry) && isRequestId(entry.id) && seen.get(entry.id)! > 1;
      const decoded: DecodedInbound = duplicate
        ? { kind: "invalid", id: entry.id as RequestId, error: { code: ErrorCode.InvalidRequest, message: `Invalid Request: id ${describe(entry.id)} appears more than once in the batch` }, responseTopic: entry.response_topic }
        : decodeInbound(entry, entryKind);
      if (decoded.kind === "notification") {
        this.runNotification(decoded.message.method, decoded.message.params, message.topic);
        continue;
      }
      const ownTopic = decoded.kind === "request" ? decoded.message.response_topic : decoded.responseTopic;
      const topic = this.responseTopicOf(message, ownTopic) ?? batchTopic;
      if (decoded.kind === "invalid") {
        if (topic === undefined || entryKind === "notification") {
          this.deps.warnings.warn(DROPPED, () => `${this.deps.name}: dropped a batch entry on ${message.topic}: ${decoded.error.message} (${entryKind === "notification" ? "notifications are never answered" : "no usable response topic"})`);
        } else {
          this.batchReplies.add(topic, encodeError(decoded.id, decoded.error), properties);
        }
        continue;
      }
      if (topic === undefined) {
        this.deps.warnings.warn(DROPPED, () => `${this.deps.name}: dropped batch entry ${describe(decoded.message.id)} for ${decoded.message.method}: ${this.noResponseTopicReason(message, ownTopic)}`);
        continue;
      }
      this.startRequest(decoded.message, message, topic, (body) => this.batchReplies.add(topic, body, properties));
    }
  }

  /**
   * Run a request's handler and hand the encoded answer to `reply`. A handler that returns a plain
   * value is answered in the same tick; one that returns a promise is tracked so `drain()` can wait.
   */
  private startRequest(request: ServedRequest, message: InboundMessage, responseTopic: string, send: (body: string) => unknown, replies: ReplyEncoder = jsonRpcReplies): void {
    let reply = send;
    const dedup = this.deps.dedup;
    if (dedup !== undefined) {
      // At most once per response topic and id: a duplicate gets the first one's answer instead of a run.
      const ticket = dedup.begin(responseTopic, request.id, send, Date.now(), () => this.forgotten(request, send, replies));
      if (ticket < 0) return;
      reply = (body) => {
        dedup.done(ticket, body, Date.now());
        return send(body);
      };
    }
    if (!this.accepting) {
      reply(replies.error(request.id, { code: ErrorCode.InternalError, message: `Service ${this.deps.name} is stopping` }));
      return;
    }
    const handler = this.handlers.get(request.method) ?? this.deps.builtins?.get(request.method);
    if (handler === undefined) {
      reply(replies.error(request.id, { code: ErrorCode.MethodNotFound, message: `Method not found: ${request.method}` }));
      return;
    }
    const deadline = this.deadlineOf(request, message);
    if (deadline !== undefined && Date.now() >= deadline) {
      // It waited at the broker (or in a queue before it) past the caller's deadline.
      this.expire(request, deadline, "before it arrived", reply, replies);
      return;
    }
    if (this.runningRequests >= this.maxConcurrentHandlers) {
      if (this.overload === "reject" && this.waiting.length >= this.maxQueued) {
        this.turnAway(request, reply, replies);
        return;
      }
      // The transport acknowledges the message once this request starts, or, with a kept session, once the
      // broker has its answer (see `inboundGate`): an answer still in the client's queue dies with the process.
      let released: (() => void) | undefined;
      if (this.gated) (this.queuedNow ??= []).push(new Promise<void>((resolve) => (released = resolve)));
      const untilAnswered = released !== undefined && this.untilAnswered;
      const replyOnce = !untilAnswered ? reply : (body: string) => {
        const sent = reply(body);
        void Promise.resolve(sent).then(released, released);
        return sent;
      };
      this.waiting.push(() => {
        if (!untilAnswered) released?.();
        if (deadline !== undefined && Date.now() >= deadline && this.accepting) {
          this.expire(request, deadline, "while it waited for a free handler", replyOnce, replies);
          return;
        }
        this.runRequest(request, message, handler, deadline, replyOnce, replies, false);
      });
      return;
    }
    this.runRequest(request, message, handler, deadline, reply, replies, this.gated && this.untilAnswered);
  }

  /** All handlers run and the wait queue is full (`overload: "reject"`): answer at once, without running it. */
  private turnAway(request: ServedRequest, reply: (body: string) => unknown, replies: ReplyEncoder): void {
    const { name, warnings } = this.deps;
    const why = `${this.maxConcurrentHandlers} handlers running and ${this.waiting.length} requests waiting`;
    warnings.warn(OVERLOADED, () => `${name}: turned away ${request.method} ${describe(request.id)} as overloaded (${why})`);
    if (this.handlers.has(request.method)) this.deps.stats?.record(request.method, 0, true);
    const sent = reply(replies.error(request.id, { code: ErrorCode.Overloaded, message: `Service ${name} is overloaded (${why}); the request did not run, try again later` }));
    // Acknowledged once the broker has the answer: a burst is then bounded by the broker's window (and the
    // transport's), not by how many answers wait in the client's queue.
    if (this.holdsAcks) (this.queuedNow ??= []).push(Promise.resolve(sent).then(noop, noop));
  }

  /** A duplicate of a request that already ran, whose answer the dedup cache no longer holds: it does not run again. */
  private forgotten(request: ServedRequest, send: (body: string) => unknown, replies: ReplyEncoder): void {
    this.deps.warnings.warn(DUPLICATES, () => `${this.deps.name}: did not run ${request.method} ${describe(request.id)} again: it is a duplicate of a request already answered, whose answer is no longer kept`);
    send(replies.error(request.id, { code: ErrorCode.InternalError, message: `Internal error: ${request.method} ${describe(request.id)} already ran; its answer is no longer kept (raise dedup.maxAnswerBytes)` }));
  }

  /**
   * When the caller gives up, by this host's clock, if the request says: the MQTT 5 Message Expiry
   * Interval (counted down by the broker, so it needs no allowance), and the payload's `deadline`
   * (the caller's clock) plus the skew allowance. The earlier of the two.
   */
  private deadlineOf(request: ServedRequest, message: InboundMessage): number | undefined {
    const expiry = message.messageExpiryInterval === undefined ? undefined : Date.now() + message.messageExpiryInterval * 1000;
    if (request.deadline === undefined) return expiry;
    const stated = request.deadline + this.deps.clockSkewToleranceMs;
    return expiry === undefined ? stated : Math.min(expiry, stated);
  }

  /**
   * The caller's deadline has passed: nobody waits for the answer, so the handler does not run. The error
   * answer, which a caller that gave up drops as late, settles duplicates waiting in the dedup cache, and
   * tells a caller whose clock is behind ours why its request was refused.
   */
  private expire(request: ServedRequest, deadline: number, when: string, reply: (body: string) => unknown, replies: ReplyEncoder): void {
    const late = Date.now() - deadline;
    const skew = request.deadline === undefined ? "" : `; if the caller's clock runs behind this server's by more than clockSkewToleranceMs (${this.deps.clockSkewToleranceMs} ms), raise that option`;
    this.deps.warnings.warn(EXPIRED, () => `${this.deps.name}: did not run ${request.method} ${describe(request.id)}: its deadline passed ${when}, ${late} ms ago${skew}`);
    reply(replies.error(request.id, { code: ErrorCode.InternalError, message: `Internal error: the deadline of ${request.method} passed ${when} (${late} ms ago by the server's clock)${skew}` }, DEADLINE_PASSED));
  }

  /** `hold`: the message being delivered carried this request, and is acknowledged once it is answered. */
  private runRequest(request: ServedRequest, message: InboundMessage, handler: Handler<any, any>, deadline: number | undefined, reply: (body: string) => unknown, replies: ReplyEncoder, hold: boolean): void {
    if (!this.accepting) {
      reply(replies.error(request.id, { code: ErrorCode.InternalError, message: `Service ${this.deps.name} is stopping` }));
      return;
    }
    const call = new HandlerCall(request.id, request.method, message.topic, deadline);
    // Counted only for handlers of the service's own (a flood of unknown names costs nothing there).
    const stats = this.deps.stats !== undefined && this.handlers.has(request.method) ? this.deps.stats : undefined;
    const began = stats === undefined ? 0 : performance.now();
    let result: unknown;
    try {
      result = handler(request.params, call);
    } catch (error) {
      call.dispose();
      reply(this.encodeFailure(request, error, replies));
      stats?.record(request.method, performance.now() - began, true);
      return;
    }
    if (!isThenable(result)) {
      call.dispose();
      reply(this.encodeSuccess(request, result, replies));
      stats?.record(request.method, performance.now() - began, false);
      return;
    }
    const started = ++this.started;
    this.runningRequests++;
    let failed = false;
    const done = Promise.resolve(result)
      .then(
        (value) => this.encodeSuccess(request, value, replies),
        (error: unknown) => {
          failed = true;
          return this.encodeFailure(request, error, replies);
        },
      )
      .then((body) => {
        call.dispose();
        this.running.delete(started);
        this.runningRequests--;
        const sent = reply(body);
        stats?.record(request.method, performance.now() - began, failed);
        this.startWaiting();
        // `done` settles once the broker has the answer (see `inboundGate`); a publish that fails settles it too.
        return sent;
      })
      .then(noop, noop);
    this.running.set(started, { call, done });
    if (hold) (this.queuedNow ??= []).push(done);
  }

  /** Start waiting requests while handlers are free (each one's start lets the transport acknowledge it). */
  private startWaiting(): void {
    while (this.waiting.length > 0 && this.runningRequests < this.maxConcurrentHandlers) this.waiting.shift()!();
  }

  private encodeSuccess(request: ServedRequest, result: unknown, replies: ReplyEncoder): string {
    return this.encodeOrFail(request.id, () => replies.result(request.id, result), request.method, replies);
  }

  private encodeFailure(request: ServedRequest, error: unknown, replies: ReplyEncoder): string {
    const wire = errorToWire(error);
    if (wire.code === ErrorCode.HandlerError && !(error instanceof RpcError)) {
      this.deps.warnings.warn(HANDLER_THREW, () => `${this.deps.name}: handler for ${request.method} threw: ${wire.message}`);
    }
    return this.encodeOrFail(request.id, () => replies.error(request.id, wire, error), request.method, replies);
  }

  private runNotification(method: string, params: Record<string, unknown>, topic: string): void {
    const { logger, name, warnings } = this.deps;
    const handler = this.handlers.get(method);
    if (handler === undefined) {
      warnings.warn(NO_HANDLER, () => `${name}: no handler for notification ${describe(method)}; dropped`);
      return;
    }
    if (!this.accepting) {
      warnings.warn(DROPPED, () => `${name}: dropped notification ${method}: service is stopping`);
      return;
    }
    const call = new HandlerCall(undefined, method, topic, undefined);
    const started = ++this.started;
    // Tracked before it starts: a handler that throws at once is done (and deleted) before `done` is assigned.
    const running: RunningHandler = { call, done: Promise.resolve() };
    this.running.set(started, running);
    running.done = (async () => {
      try {
        await handler(params, call);
      } catch (error) {
        logger.error(`${name}: notification handler for ${method} threw: ${error instanceof Error ? error.message : String(error)}`, { error });
      } finally {
        call.dispose();
        this.running.delete(started);
      }
    })();
  }

  /** Encode a response; if the result or error data cannot be carried by JSON, answer -32603 instead. */
  private encodeOrFail(id: RequestId, encode: () => string, method: string, replies: ReplyEncoder): string {
    try {
      return encode();
    } catch (error) {
      const message = `Internal error: the response of ${method} cannot be encoded as JSON: ${(error as Error).message}`;
      this.deps.logger.error(`${this.deps.name}: ${message}`);
      return replies.error(id, { code: ErrorCode.InternalError, message });
    }
  }

  /** Answer a broken message with `error` if it names a usable response topic; drop it with a warning otherwise. */
  private answerInvalid(message: InboundMessage, id: RequestId | null, error: WireError, payloadTopic: unknown, kind: TopicKind): void {
    const responseTopic = kind === "request" ? this.responseTopicOf(message, payloadTopic) : undefined;
    if (responseTopic === undefined) {
      const why = kind === "request" ? this.noResponseTopicReason(message, payloadTopic) : "notifications are never answered";
      this.deps.warnings.warn(DROPPED, () => `${this.deps.name}: dropped a ${kind} on ${message.topic}: ${error.message} (${why})`);
      return;
    }
    this.deps.logger.debug(`${this.deps.name}: answered a bad ${kind} on ${message.topic} with ${error.code}: ${error.message}`);
    const properties = message.correlationData === undefined ? undefined : { correlationData: message.correlationData };
    void this.answer(responseTopic, encodeError(id, error), properties);
  }

  /**
   * The MQTT 5 Response Topic property wins over the payload's `response_topic`; either must be a topic
   * the broker accepts. The last one found valid is remembered: a caller sends all its requests with one.
   */
  private responseTopicOf(message: InboundMessage, payloadTopic: unknown): string | undefined {
    const candidate = message.responseTopic ?? payloadTopic;
    if (candidate === this.lastValidResponseTopic) return candidate as string;
    if (responseTopicProblem(candidate, this.deps.maxTopicLevels) !== undefined) return undefined;
    this.lastValidResponseTopic = candidate as string;
    return candidate as string;
  }

  private lastValidResponseTopic: string | undefined;

  private noResponseTopicReason(message: InboundMessage, payloadTopic: unknown): string {
    const candidate = message.responseTopic ?? payloadTopic;
    if (candidate === undefined) return "it has no response topic";
    return `its response topic ${describe(candidate)} ${responseTopicProblem(candidate, this.deps.maxTopicLevels)}`;
  }

  /**
   * Publish an answer. One published while its request is being delivered (a handler that answered at once, or
   * an error answer) holds that message's acknowledgement until the broker has the answer, like one that ran
   * longer (see `inboundGate`): a process that dies in between gets the request again instead of losing it.
   */
  private answer(topic: string, body: string, properties: PublishProperties | undefined): Promise<void> {
    const sent = this.publishAnswer(topic, body, properties);
    if (this.delivering && this.gated && this.untilAnswered) (this.queuedNow ??= []).push(sent);
    return sent;
  }

  private async publishAnswer(topic: string, body: string, properties: PublishProperties | undefined): Promise<void> {
    try {
      await this.deps.publish(topic, body, properties);
    } catch (error) {
      this.deps.warnings.warn(DROPPED, () => `${this.deps.name}: could not publish a response to ${topic}: ${(error as Error).message}`);
    }
  }
}
