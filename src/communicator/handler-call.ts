import type { RequestId } from "../wire/values.js";
import type { HandlerContext } from "./types.js";

/**
 * The context of one running handler. Its `AbortSignal` is created only when the handler reads it,
 * so calls whose handlers ignore it cost no controller and no deadline timer.
 */
export class HandlerCall implements HandlerContext {
  private controller: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;
  private abortReason: unknown;
  private aborted = false;

  constructor(
    readonly id: RequestId | undefined,
    readonly method: string,
    readonly topic: string,
    /** Epoch milliseconds after which the caller no longer waits, if known. */
    private readonly deadline: number | undefined,
  ) {}

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.abortReason);
      else if (this.deadline !== undefined) {
        const remaining = this.deadline - Date.now();
        const expire = () => this.abort(new DOMException(`The caller's deadline for ${this.method} has passed`, "TimeoutError"));
        if (remaining <= 0) expire();
        else this.timer = setTimeout(expire, remaining);
      }
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.abortReason = reason;
    this.controller?.abort(reason);
  }

  /** Release the deadline timer once the handler has finished. */
  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
  }
}
