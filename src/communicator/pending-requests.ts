import { CommunicationError, RequestAbortedError, RequestTimeoutError } from "../errors/errors.js";
import type { RequestId } from "../wire/values.js";
import { SequenceMap } from "./sequence-map.js";
import type { PublishTicket } from "../transport/transport.js";

interface Pending extends PublishTicket {
  readonly id: string;
  resolve(value: unknown): void;
  reject(reason: unknown): void;
  timer: NodeJS.Timeout;
  timeoutMs: number;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  target: string;
  method: string;
  /** Where the request went and what it said, kept to send it again (see `resend`). */
  topic: string | undefined;
  body: string | undefined;
}

export interface PendingCall {
  target: string;
  method: string;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

/**
 * Outgoing requests waiting for a response, keyed by id. Every entry settles exactly once: by its
 * response, its timeout, its signal or `rejectAll`, and whichever comes first removes it with its
 * timer and abort listener. Ids are `<prefix><sequence number>`, kept in a `SequenceMap` (see
 * there why not in a `Map`).
 */
/** How many answered requests are remembered, so that a second answer to one of them is noticed. */
const ANSWERED_SLOTS = 1024;

export class PendingRequests {
  private readonly entries: SequenceMap<string, Pending>;
  private sequence = 0;
  /**
   * The last answered requests, by sequence number modulo `ANSWERED_SLOTS`: the number, and the entry's
   * target and method (strings every call already holds, so remembering them allocates nothing).
   */
  private readonly answeredSequence = new Int32Array(ANSWERED_SLOTS).fill(-1);
  private readonly answeredTarget: string[] = new Array<string>(ANSWERED_SLOTS).fill("");
  private readonly answeredMethod: string[] = new Array<string>(ANSWERED_SLOTS).fill("");
  /** A fingerprint of each one's answer (the message it came in): a copy of that message is no second answer. */
  private readonly answeredFingerprint = new Uint32Array(ANSWERED_SLOTS);

  /**
   * `idPrefix` starts every id this hands out, and must not end in a digit. `giveUp` is called with the
   * publish ticket of a request that times out, is aborted or is cancelled by `rejectAll`: its caller no
   * longer waits, so what is still unsent of it should never be sent.
   */
  constructor(
    private readonly idPrefix: string,
    private readonly giveUp: (ticket: PublishTicket) => void = () => undefined,
    /** What to add to a timeout's message: where the request went, and why an answer may never come. */
    private readonly timeoutHint: (target: string, method: string) => string = () => "",
    /** The caller of `id` stopped waiting (timeout, abort): the server may still be working on it. */
    private readonly gaveUp: (id: string, target: string, why: string, timedOut: boolean) => void = () => undefined,
  ) {
    const start = idPrefix.length;
    this.entries = new SequenceMap((id) => digitsAfter(id, start));
  }

  get size(): number {
    return this.entries.size;
  }

  /** A new request id. */
  nextId(): string {
    return `${this.idPrefix}${++this.sequence}`;
  }

  has(id: RequestId): boolean {
    return typeof id === "string" && this.entries.has(id);
  }

  /** Where the transport notes how to withdraw the publish of `id` (see `Transport.withdraw`). */
  ticket(id: string): PublishTicket | undefined {
    return this.entries.get(id);
  }

  /** Keep what `id` was sent as, so that `resend` can send it again. */
  remember(id: string, topic: string, body: string): void {
    const entry = this.entries.get(id);
    if (entry === undefined) return;
    entry.topic = topic;
    entry.body = body;
  }

  /**
   * Send remembered requests again: `retarget` says, for each, where it goes now (its topic, or another), or
   * undefined to leave it be. `acknowledged` is whether the broker took its publish (one it has not is still in
   * the transport's store, and goes again by itself). Returns how many went.
   */
  resend(retarget: (topic: string, method: string, acknowledged: boolean, target: string) => string | undefined, publish: (id: string, topic: string, body: string) => void): number {
    let sent = 0;
    for (const entry of this.entries.values()) {
      if (entry.topic === undefined || entry.body === undefined) continue;
      const topic = retarget(entry.topic, entry.method, entry.packetId === undefined, entry.target);
      if (topic === undefined) continue;
      entry.topic = topic;
      publish(entry.id, topic, entry.body);
      sent++;
    }
    return sent;
  }

  /** Track `id` (from `nextId`); the returned promise settles with the response, or rejects on timeout or abort. */
  add(id: string, call: PendingCall): Promise<unknown> {
    if (call.signal?.aborted) {
      return Promise.reject(abortError(call.target, call.method, call.signal));
    }
    const entry: Pending = {
      id,
      resolve: undefined!,
      reject: undefined!,
      target: call.target,
      method: call.method,
      timeoutMs: call.timeoutMs,
      signal: call.signal,
      onAbort: undefined,
      packetId: undefined,
      topic: undefined,
      body: undefined,
      // Arguments rather than a closure: what a call in flight holds on to stays small.
      timer: setTimeout(expire, call.timeoutMs, this, id),
    };
    const result = new Promise((resolve, reject) => {
      entry.resolve = resolve;
      entry.reject = reject;
    });
    if (call.signal) this.listenForAbort(id, entry, call.signal);
    this.entries.set(id, entry);
    return result;
  }

  private listenForAbort(id: RequestId, entry: Pending, signal: AbortSignal): void {
    entry.onAbort = () => {
      if (this.abandon(id) === undefined) return;
      entry.reject(abortError(entry.target, entry.method, signal));
      this.gaveUp(entry.id, entry.target, "the caller aborted it", false);
    };
    signal.addEventListener("abort", entry.onAbort, { once: true });
  }

  /** Reject `id` with its timeout error (a timer's callback). */
  timeOut(id: RequestId): void {
    const entry = this.abandon(id);
    if (entry === undefined) return;
    this.gaveUp(entry.id, entry.target, `it timed out after ${entry.timeoutMs} ms`, true);
    entry.reject(
      new RequestTimeoutError(`Request ${entry.method} to ${entry.target} timed out after ${entry.timeoutMs} ms${this.timeoutHint(entry.target, entry.method)}`, {
        target: entry.target,
        timeoutMs: entry.timeoutMs,
        details: { id, method: entry.method },
      }),
    );
  }

  /** Settle `id` with a result. Returns false if nothing was waiting for it. */
  resolve(id: RequestId, result: unknown): boolean {
    const entry = this.settle(id);
    entry?.resolve(result);
    return entry !== undefined;
  }

  /**
   * Settle `id` with the answer that came for it, a result or an error; a second answer will be noticed.
   * `fingerprint` identifies the message it came in (see `answeredBefore`).
   */
  settleAnswer(id: RequestId, outcome: "resolve" | "reject", value: unknown, fingerprint = 0): boolean {
    const entry = this.settle(id);
    if (entry === undefined) return false;
    const sequence = digitsAfter(entry.id, this.idPrefix.length);
    const slot = sequence & (ANSWERED_SLOTS - 1);
    this.answeredSequence[slot] = sequence;
    this.answeredTarget[slot] = entry.target;
    this.answeredMethod[slot] = entry.method;
    this.answeredFingerprint[slot] = fingerprint;
    if (outcome === "resolve") entry.resolve(value);
    else entry.reject(value);
    return true;
  }

  /**
   * The call `id` was, if it was one of ours answered recently: an answer now is a second one. `copy` says
   * whether it came in a message with the same fingerprint as the first: a QoS 1 redelivery of that message
   * (after a reconnect, by the broker or by the server's own session), not a second answer.
   */
  answeredBefore(id: RequestId, fingerprint = 0): { target: string; method: string; copy: boolean } | undefined {
    if (typeof id !== "string" || !id.startsWith(this.idPrefix)) return undefined;
    const sequence = digitsAfter(id, this.idPrefix.length);
    const slot = sequence & (ANSWERED_SLOTS - 1);
    if (this.answeredSequence[slot] !== sequence) return undefined;
    return { target: this.answeredTarget[slot]!, method: this.answeredMethod[slot]!, copy: this.answeredFingerprint[slot] === fingerprint };
  }

  /** Settle `id` with an error. Returns false if nothing was waiting for it. */
  reject(id: RequestId, error: unknown): boolean {
    const entry = this.settle(id);
    entry?.reject(error);
    return entry !== undefined;
  }

  /** What `id` was sent to, for error messages. */
  describe(id: RequestId): { target: string; method: string; timeoutMs: number } | undefined {
    const entry = typeof id === "string" ? this.entries.get(id) : undefined;
    return entry && { target: entry.target, method: entry.method, timeoutMs: entry.timeoutMs };
  }

  /** Reject every pending request with `makeError(target, method)`, oldest first. */
  rejectAll(makeError: (target: string, method: string) => CommunicationError): void {
    for (const { id } of this.entries.values()) {
      const entry = this.abandon(id)!;
      entry.reject(makeError(entry.target, entry.method));
    }
  }

  /** Settle `id` because its caller stopped waiting: what is unsent of its request is withdrawn. */
  private abandon(id: RequestId): Pending | undefined {
    const entry = this.settle(id);
    if (entry?.packetId !== undefined) this.giveUp(entry);
    return entry;
  }

  private settle(id: RequestId): Pending | undefined {
    const entry = typeof id === "string" ? this.entries.delete(id) : undefined;
    if (entry === undefined) return undefined;
    clearTimeout(entry.timer);
    if (entry.onAbort) entry.signal!.removeEventListener("abort", entry.onAbort);
    return entry;
  }
}

/**
 * The number the decimal digits of `id` from `start` on spell, mod 2^32. The digits are not
 * checked: a string that is not an id of ours gives some number, and only an entry with exactly
 * that id matches in its slot.
 */
function digitsAfter(id: string, start: number): number {
  let value = 0;
  for (let i = start; i < id.length; i++) value = (Math.imul(value, 10) + id.charCodeAt(i) - 48) | 0;
  return value;
}

function expire(pending: PendingRequests, id: RequestId): void {
  pending.timeOut(id);
}

function abortError(target: string, method: string, signal: AbortSignal): RequestAbortedError {
  return new RequestAbortedError(`Request ${method} to ${target} was aborted`, { target, cause: signal.reason, details: { method } });
}
