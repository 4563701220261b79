/**
 * The server's side of one streaming call: pulls items from the handler's generator only while the caller
 * has granted credit (a handler past its credit waits at its `yield`), numbers them, and aborts the handler
 * when the caller cancels or goes quiet for longer than its idle timeout (a caller that died).
 */
import { ErrorCode } from "../errors/codes.js";
import { RpcError } from "../errors/errors.js";
import { unrefTimer } from "../platform/runtime.js";
import type { StreamRequest } from "../wire/format.js";
import type { HandlerCall } from "./handler-call.js";

export class StreamRun {
  /** Items sent so far; the next one's sequence number. */
  sent = 0;
  /** Items the caller allows in all, so far. */
  private allowed: number;
  private readonly idleMs: number;
  private idle: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly call: HandlerCall,
    request: StreamRequest,
  ) {
    this.allowed = request.credit;
    this.idleMs = request.idleMs;
    // Read once: it arms the caller's deadline, and wakes a stream waiting for credit when it passes.
    call.signal.addEventListener("abort", () => this.wakeUp(), { once: true });
    this.touch();
  }

  /** The caller allows `granted` items in all (a running total: a copy or a late one changes nothing), or says it is still there. */
  grant(granted: number): void {
    if (granted > this.allowed) this.allowed = granted;
    this.touch();
    this.wakeUp();
  }

  /** The caller cancelled (or the service stops): the handler's signal aborts. */
  abort(reason: unknown): void {
    this.call.abort(reason);
    this.wakeUp();
  }

  /**
   * Publish the items `items` yields through `publish`, in order, each once the caller has credit for it;
   * resolves with the handler's result, rejects with what it threw or why the call was aborted.
   */
  async pump(items: AsyncIterator<unknown>, publish: (seq: number, item: unknown) => void): Promise<unknown> {
    let finished = false;
    try {
      for (;;) {
        while (this.sent >= this.allowed && !this.call.aborted) await new Promise<void>((resolve) => (this.wake = resolve));
        if (this.call.aborted) throw cancelled(this.call.reason);
        const next = await items.next();
        if (next.done) {
          finished = true;
          return next.value;
        }
        // An item yielded after the abort is not sent: the handler stops at its next `yield`.
        if (this.call.aborted) throw cancelled(this.call.reason);
        publish(this.sent, next.value);
        this.sent++;
      }
    } finally {
      clearTimeout(this.idle);
      // The handler's own `finally` runs: cancelled, or its item could not be sent.
      if (!finished) await Promise.resolve(items.return?.(undefined)).catch(() => undefined);
    }
  }

  private touch(): void {
    clearTimeout(this.idle);
    this.idle = setTimeout(() => this.abort(new Error(`the caller sent no credit or sign of life for ${this.idleMs} ms (idleMs): it is gone`)), this.idleMs);
    unrefTimer(this.idle);
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/** The answer to a stream that was aborted: nobody may be waiting for it, but duplicates and logs are told why. */
function cancelled(reason: unknown): RpcError {
  const why = reason instanceof Error ? reason.message : String(reason);
  return new RpcError(ErrorCode.InternalError, `Cancelled: ${why}`);
}
