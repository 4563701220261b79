/**
 * The handlers running on a server: a request's handler (answered at once, or tracked while its promise or
 * stream runs), a notification's handler, and the calls a caller may cancel by their response topic and id.
 * The dispatcher decides whether a request runs; this runs it.
 */
import { ErrorCode } from "../errors/codes.js";
import { CommunicationError } from "../errors/errors.js";
import type { Logger } from "../logger.js";
import type { ReplyEncoder, RequestId, ServedRequest } from "../wire/format.js";
import type { AnswerEncoder } from "./answers.js";
import { deadlinePassed, HandlerCall } from "./handler-call.js";
import type { CallObserver } from "./membership.js";
import { CallerWatch } from "./caller-watch.js";
import { SequenceMap } from "./sequence-map.js";
import { StreamRun } from "./stream-run.js";
import type { Handler } from "./types.js";

function noop(): void {}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}

/** What a streaming handler returns: an async generator (or any async iterator). */
function isItems(value: unknown): value is AsyncIterator<unknown> {
  return typeof (value as { next?: unknown } | null)?.next === "function" && typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === "function";
}

/** A handler that has not finished yet: its context, a promise that settles when it has answered, and its stream. */
interface RunningHandler {
  call: HandlerCall;
  done: Promise<void>;
  stream?: StreamRun | undefined;
  /** A plain call whose caller sends signs of life (`alive`). */
  watch?: CallerWatch | undefined;
}

export interface HandlerRunsDeps {
  name: string;
  logger: Logger;
  encode: AnswerEncoder;
  /** Told of finished requests to handlers of the service's own. */
  calls: CallObserver | undefined;
  /** Whether `method` is one of the service's own handlers (not a built-in). */
  isOwn(method: string): boolean;
  /** A request handler finished: a waiting request may start. */
  freed(): void;
}

export class HandlerRuns {
  /** Request handlers running now (promise-returning ones and streams). */
  requests = 0;
  /** Handlers still running, by start number; see `SequenceMap` for why not a `Set`. */
  private readonly running = new SequenceMap<number, RunningHandler>((started) => started);
  private started = 0;
  /** Request handlers running now, by the caller's response topic and the request id: what a cancel names. */
  private readonly byCaller = new Map<string, RunningHandler>();

  constructor(private readonly deps: HandlerRunsDeps) {}

  get size(): number {
    return this.running.size;
  }

  /**
   * Run a request's handler and hand the encoded answer to `reply` (items of a stream to `send`, past the
   * dedup cache). Returns a promise that settles once a handler that did not answer at once has answered.
   */
  request(request: ServedRequest, topic: string, replyTo: string, handler: Handler<any, any>, deadline: number | undefined, reply: (body: string) => unknown, send: (body: string) => unknown, replies: ReplyEncoder): Promise<void> | undefined {
    const call = new HandlerCall(request.id, request.method, topic, deadline);
    // Counted only for handlers of the service's own (a flood of unknown names costs nothing there).
    const stats = this.deps.calls !== undefined && this.deps.isOwn(request.method) ? this.deps.calls : undefined;
    const began = stats === undefined ? 0 : performance.now();
    let result: unknown;
    try {
      result = handler(request.params, call);
    } catch (error) {
      call.dispose();
      reply(this.deps.encode.failure(request, error, replies));
      stats?.finished(request.method, performance.now() - began, true);
      return undefined;
    }
    if (!isThenable(result)) {
      if (isItems(result)) return this.stream(request, call, replyTo, result, reply, send, replies, stats, began);
      call.dispose();
      reply(this.deps.encode.success(request, result, replies));
      stats?.finished(request.method, performance.now() - began, false);
      return undefined;
    }
    let failed = false;
    const settled = Promise.resolve(result).then(
      (value) => this.deps.encode.success(request, value, replies),
      (error: unknown) => {
        failed = true;
        return this.deps.encode.failure(request, error, replies);
      },
    );
    // A caller that promised signs of life (`alive`, or a stream's credit: a plain method called as a stream)
    // and went quiet is gone: the handler's signal aborts.
    const aliveMs = request.alive ?? request.stream?.idleMs;
    const watch = aliveMs === undefined ? undefined : new CallerWatch(aliveMs, (reason) => call.abort(reason));
    return this.track(call, replyTo, request.id, undefined, settled, reply, (method) => stats?.finished(method, performance.now() - began, failed), watch);
  }

  /** A handler that returned items: a stream, if the caller asked for one and its format carries them. */
  private stream(request: ServedRequest, call: HandlerCall, replyTo: string, items: AsyncIterator<unknown>, reply: (body: string) => unknown, send: (body: string) => unknown, replies: ReplyEncoder, stats: CallObserver | undefined, began: number): Promise<void> | undefined {
    const encodeItem = replies.item;
    if (request.stream === undefined || encodeItem === undefined) {
      void Promise.resolve(items.return?.(undefined)).catch(noop);
      call.dispose();
      const why = encodeItem === undefined ? "its wire format has no streams" : 'call it as a stream (the request has no "stream" member)';
      reply(replies.error(request.id, { code: ErrorCode.InvalidRequest, message: `Invalid Request: ${request.method} streams; ${why}` }));
      stats?.finished(request.method, performance.now() - began, true);
      return undefined;
    }
    const run = new StreamRun(call, request.stream);
    let failed = false;
    const settled = run.pump(items, (seq, item) => send(encodeItem(request.id, seq, item))).then(
      (value) => this.deps.encode.success(request, value, replies, run.sent),
      (error: unknown) => {
        failed = true;
        return this.deps.encode.failure(request, error, replies, run.sent);
      },
    );
    return this.track(call, replyTo, request.id, run, settled, reply, (method) => stats?.finished(method, performance.now() - began, failed));
  }

  /** Track a handler until `settled` gives its answer; then answer, count it, and free its place. */
  private track(call: HandlerCall, replyTo: string, id: RequestId, stream: StreamRun | undefined, settled: Promise<string>, reply: (body: string) => unknown, finished: (method: string) => void, watch?: CallerWatch): Promise<void> {
    const started = ++this.started;
    const key = callerKey(replyTo, id);
    this.requests++;
    const running: RunningHandler = { call, stream, watch, done: undefined! };
    running.done = settled
      .then((body) => {
        watch?.stop();
        call.dispose();
        this.running.delete(started);
        if (this.byCaller.get(key) === running) this.byCaller.delete(key);
        this.requests--;
        const sent = reply(body);
        finished(call.method);
        this.deps.freed();
        // `done` settles once the broker has the answer (see `Dispatcher.inboundGate`); a publish that fails settles it too.
        return sent;
      })
      .then(noop, noop);
    this.running.set(started, running);
    this.byCaller.set(key, running);
    return running.done;
  }

  /** The caller of request `id` gave up: its handler's signal aborts (a stream stops at its next `yield`). */
  cancel(replyTo: string, id: RequestId, reason: string, timeout: boolean): void {
    const running = this.byCaller.get(callerKey(replyTo, id));
    if (running === undefined) return; // finished already, or another instance's: harmless
    // A caller whose deadline passed: the same reason the handler sees when the server's own deadline timer fires.
    const error = timeout ? deadlinePassed(running.call.method) : new CommunicationError(`The caller cancelled ${running.call.method}: ${reason}`);
    if (running.stream) running.stream.abort(error);
    else running.call.abort(error);
  }

  /** The caller of stream `id` allows `granted` items in all; the caller of a plain call says it is still there. */
  credit(replyTo: string, id: RequestId, granted: number): void {
    const running = this.byCaller.get(callerKey(replyTo, id));
    if (running?.stream) running.stream.grant(granted);
    else running?.watch?.touch();
  }

  notification(handler: Handler<any, any>, method: string, params: unknown, topic: string): void {
    const call = new HandlerCall(undefined, method, topic, undefined);
    const started = ++this.started;
    // Tracked before it starts: a handler that throws at once is done (and deleted) before `done` is assigned.
    const running: RunningHandler = { call, done: Promise.resolve() };
    this.running.set(started, running);
    running.done = (async () => {
      try {
        await handler(params, call);
      } catch (error) {
        this.deps.logger.error(`${this.deps.name}: notification handler for ${method} threw: ${error instanceof Error ? error.message : String(error)}`, { error });
      } finally {
        call.dispose();
        this.running.delete(started);
      }
    })();
  }

  /** Wait up to `graceMs` for the running handlers, then abort the rest with `reason`. */
  async settle(graceMs: number, reason: Error): Promise<void> {
    if (this.running.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
      await Promise.race([Promise.allSettled(this.running.values().map(({ done }) => done)), grace]);
      clearTimeout(timer);
    }
    for (const { call, stream } of this.running.values()) {
      if (stream) stream.abort(reason);
      else call.abort(reason);
    }
  }
}

function callerKey(replyTo: string, id: RequestId): string {
  return `${typeof id === "number" ? "n" : "s"}${id}\u0000${replyTo}`;
}
