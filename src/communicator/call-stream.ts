/**
 * The caller's side of a streaming call: the items as an `AsyncIterable`, in order, and the result once
 * the stream ends. Breaking out of `for await`, `cancel()`, the call's `signal` or its timeouts end it,
 * and the server hears it.
 */
import { RequestAbortedError } from "../errors/errors.js";

/** A call whose method yields items as it works: iterate the items, then read `result`. */
export interface CallStream<Item = unknown, Result = unknown> extends AsyncIterable<Item> {
  /** The method's result, once the last item has come; rejects as the call fails (after the items so far). */
  readonly result: Promise<Result>;
  /** End the call now: the server's handler sees `context.signal` abort. Harmless once the call has ended. */
  cancel(reason?: unknown): void;
}

function noop(): void {}

/** How a stream that its caller cancelled ends: `RequestAbortedError`, its `cause` what `cancel()` was given. */
function cancelled(reason: unknown): RequestAbortedError {
  const why = reason === undefined ? "" : `: ${reason instanceof Error ? reason.message : String(reason)}`;
  return new RequestAbortedError(`The caller cancelled the stream${why}`, { cause: reason });
}

/**
 * The items a stream has received and not yet handed out, and the consumer waiting for the next one.
 * `pull` is told how many items the consumer has taken, to grant the server more credit.
 */
export class ItemQueue<Item> implements CallStream<Item, unknown> {
  readonly result: Promise<unknown>;
  private readonly items: Item[] = [];
  private waiter: { resolve(next: IteratorResult<Item>): void; reject(error: unknown): void } | undefined;
  private ended: { error: unknown } | { error?: undefined } | undefined;
  private iterated = false;

  constructor(
    result: Promise<unknown>,
    private readonly onTaken: () => void,
    private readonly onCancel: (reason: unknown) => void,
  ) {
    // A caller that only iterates, or only awaits the result, must not see an unhandled rejection.
    result.catch(noop);
    this.result = result;
  }

  /** An item arrived, in order. */
  push(item: Item): void {
    if (this.ended !== undefined) return;
    const waiter = this.waiter;
    if (waiter !== undefined) {
      this.waiter = undefined;
      waiter.resolve({ value: item, done: false });
      this.onTaken();
      return;
    }
    this.items.push(item);
  }

  /** The call ended: after the items still queued, iteration stops (or throws `error`). */
  end(error?: unknown): void {
    if (this.ended !== undefined) return;
    this.ended = error === undefined ? {} : { error };
    const waiter = this.waiter;
    if (waiter !== undefined && this.items.length === 0) {
      this.waiter = undefined;
      if (error === undefined) waiter.resolve({ value: undefined, done: true });
      else waiter.reject(error);
    }
  }

  /** Items received and not yet taken. */
  get buffered(): number {
    return this.items.length;
  }

  cancel(reason?: unknown): void {
    if (this.ended !== undefined) return;
    this.onCancel(reason instanceof RequestAbortedError ? reason : cancelled(reason));
  }

  [Symbol.asyncIterator](): AsyncIterator<Item> {
    if (this.iterated) throw new TypeError("A CallStream can be iterated once");
    this.iterated = true;
    return {
      next: () => this.next(),
      return: (value?: unknown) => {
        // `break` out of `for await`: the caller no longer wants the rest.
        if (this.ended === undefined) this.onCancel(new RequestAbortedError("The caller stopped iterating the stream"));
        this.items.length = 0;
        return Promise.resolve({ value: value as Item, done: true });
      },
    };
  }

  private next(): Promise<IteratorResult<Item>> {
    if (this.items.length > 0) {
      const value = this.items.shift()!;
      this.onTaken();
      return Promise.resolve({ value, done: false });
    }
    const ended = this.ended;
    if (ended !== undefined) return ended.error === undefined ? Promise.resolve({ value: undefined, done: true }) : Promise.reject(ended.error);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }
}

/** A stream that failed before anything was sent: iterating it throws `error`, and its result rejects with it. */
export function failedStream(error: unknown): CallStream<never, never> {
  const result = Promise.reject(error);
  result.catch(noop);
  return {
    result,
    cancel: noop,
    [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(error) }),
  };
}
