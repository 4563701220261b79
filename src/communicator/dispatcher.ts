import { ErrorCode } from "../errors/codes.js";
import { CommunicationError } from "../errors/errors.js";
import type { Logger } from "../logger.js";
import type { WarningLimiter } from "../log/warning-limiter.js";
import { DEADLINE_PASSED, DROPPED, type InboundSink, type Params, type ReplyEncoder, type RequestId, type ServedRequest, type WireFormat } from "../wire/format.js";
import { describe } from "../wire/values.js";
import type { InboundMessage, PublishProperties } from "../transport/transport.js";
import type { DedupCache } from "./dedup-cache.js";
import { AnswerEncoder } from "./answers.js";
import { HandlerRuns } from "./handler-runs.js";
import type { CallObserver } from "./membership.js";
import { ResponseCoalescer } from "./response-coalescer.js";
import type { Handler } from "./types.js";

function noop(): void {}

export interface DispatcherDeps {
  publish(topic: string, payload: string, properties?: PublishProperties): Promise<void>;
  logger: Logger;
  /** Where warnings about bad input go, rate-limited per kind. */
  warnings: WarningLimiter;
  /** Requests taken recently, so a redelivered duplicate does not run again; undefined when turned off. */
  dedup: DedupCache | undefined;
  /** A payload `deadline` (the caller's clock) counts as passed only this long after it, by ours. */
  clockSkewToleranceMs: number;
  /** Names this service in logs. */
  name: string;
  /** Told of finished requests, per method (only methods with a registered handler). */
  calls?: CallObserver | undefined;
  /** Methods every server answers unless a handler of its own takes the name (`rpc.discover`, `rpc.stats`). */
  builtins?: ReadonlyMap<string, Handler<any, any>> | undefined;
}

/** Kinds of rate-limited warning: what a flood of bad input repeats. */
const NO_HANDLER = "notifications with no handler";
const EXPIRED = "requests whose deadline passed before they could run";
const DUPLICATES = "duplicates of requests whose answers are no longer kept";
const OVERLOADED = "requests turned away as overloaded";

/** What a server does with requests that come while all its handlers run: see `overload` in the options. */
export type OverloadPolicy = "queue" | "reject";

/**
 * The server side of the RPC core, format-neutral: a wire format decodes what arrives, and the dispatcher
 * runs the handlers with the limits (dedup, deadlines, the concurrency gate, drain on stop) and publishes
 * the answers the format encodes. Everything from the network is hostile here: nothing it sends may throw
 * out of `dispatch`, and every request with a usable response topic gets an answer.
 */
export class Dispatcher implements InboundSink {
  readonly handlers = new Map<string, Handler<any, any>>();
  private readonly runs: HandlerRuns;
  private readonly batchReplies: ResponseCoalescer;
  private accepting = true;
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
    this.runs = new HandlerRuns({
      name: deps.name,
      logger: deps.logger,
      encode: new AnswerEncoder(deps.name, deps.logger, deps.warnings),
      calls: deps.calls,
      isOwn: (method) => this.handlers.has(method),
      freed: () => this.startWaiting(),
    });
    this.batchReplies = new ResponseCoalescer((topic, payload, properties) => this.answer(topic, payload, properties));
  }

  /** The one entry point: `format` decodes the request(s) or notification(s) `message` carries, and they run here. */
  dispatch(message: InboundMessage, format: WireFormat, route: "request" | "notification"): void {
    this.delivering = true;
    this.format = format;
    try {
      format.serve(message, route, this);
    } catch (error) {
      // Only a bug of ours can land here; it must still not take the service down.
      this.deps.logger.error(`${this.deps.name}: failed to dispatch a message on ${message.topic}`, { error });
    } finally {
      this.delivering = false;
    }
  }

  /** True while a message the transport is delivering is dispatched: answers published now are its. */
  private delivering = false;

  /** The format of the message being dispatched: it joins the answers of a batch. */
  private format: WireFormat | undefined;

  /** From the format: run `request` and answer it on `replyTo`. */
  request(request: ServedRequest, message: InboundMessage, replyTo: string, replies: ReplyEncoder, properties: PublishProperties | undefined, batch: boolean): void {
    const format = this.format!;
    const send = batch ? (body: string) => this.batchReplies.add(replyTo, body, properties, format) : (body: string) => this.answer(replyTo, body, properties);
    this.startRequest(request, message, replyTo, send, replies);
  }

  /** From the format: an answer that never reaches a handler (a request the format found broken). */
  reply(topic: string, body: string, properties: PublishProperties | undefined, batch: boolean): void {
    if (batch) this.batchReplies.add(topic, body, properties, this.format!);
    else void this.answer(topic, body, properties);
  }

  /** From the format: run a notification's handler. */
  notification(method: string, params: Params, topic: string): void {
    const { name, warnings } = this.deps;
    const handler = this.handlers.get(method);
    if (handler === undefined) warnings.warn(NO_HANDLER, () => `${name}: no handler for notification ${describe(method)}; dropped`);
    else if (!this.accepting) warnings.warn(DROPPED, () => `${name}: dropped notification ${method}: service is stopping`);
    else this.runs.notification(handler, method, params, topic);
  }

  /** From the format: the caller of a request gave up. */
  cancel(replyTo: string, id: RequestId, reason: string, timeout: boolean): void {
    this.runs.cancel(replyTo, id, reason, timeout);
  }

  /** From the format: the caller of a stream allows `granted` items in all. */
  credit(replyTo: string, id: RequestId, granted: number): void {
    this.runs.credit(replyTo, id, granted);
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
    await this.runs.settle(graceMs, new CommunicationError(`${this.deps.name} stopped`));
    // Handed to the transport now; not awaited: with the broker unreachable a QoS 1 publish waits for a
    // reconnect, and the transport's close bounds how long what is in flight may take.
    void this.batchReplies.flush();
  }

  /**
   * Run a request's handler and hand the encoded answer to `reply`. A handler that returns a plain
   * value is answered in the same tick; one that returns a promise is tracked so `drain()` can wait.
   */
  private startRequest(request: ServedRequest, message: InboundMessage, responseTopic: string, send: (body: string) => unknown, replies: ReplyEncoder): void {
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
    if (this.runs.requests >= this.maxConcurrentHandlers) {
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
        this.runRequest(request, message, responseTopic, handler, deadline, replyOnce, send, replies, false);
      });
      return;
    }
    this.runRequest(request, message, responseTopic, handler, deadline, reply, send, replies, this.gated && this.untilAnswered);
  }

  /** All handlers run and the wait queue is full (`overload: "reject"`): answer at once, without running it. */
  private turnAway(request: ServedRequest, reply: (body: string) => unknown, replies: ReplyEncoder): void {
    const { name, warnings } = this.deps;
    const why = `${this.maxConcurrentHandlers} handlers running and ${this.waiting.length} requests waiting`;
    warnings.warn(OVERLOADED, () => `${name}: turned away ${request.method} ${describe(request.id)} as overloaded (${why})`);
    if (this.handlers.has(request.method)) this.deps.calls?.finished(request.method, 0, true);
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
  private runRequest(request: ServedRequest, message: InboundMessage, replyTo: string, handler: Handler<any, any>, deadline: number | undefined, reply: (body: string) => unknown, send: (body: string) => unknown, replies: ReplyEncoder, hold: boolean): void {
    if (!this.accepting) {
      reply(replies.error(request.id, { code: ErrorCode.InternalError, message: `Service ${this.deps.name} is stopping` }));
      return;
    }
    const done = this.runs.request(request, message.topic, replyTo, handler, deadline, reply, send, replies);
    if (hold && done !== undefined) (this.queuedNow ??= []).push(done);
  }

  /** Start waiting requests while handlers are free (each one's start lets the transport acknowledge it). */
  private startWaiting(): void {
    while (this.waiting.length > 0 && this.runs.requests < this.maxConcurrentHandlers) this.waiting.shift()!();
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
