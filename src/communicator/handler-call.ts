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
  private wasAborted = false;

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
      if (this.wasAborted) this.controller.abort(this.abortReason);
      else if (this.deadline !== undefined) {
        const remaining = this.deadline - Date.now();
        const expire = () => this.abort(deadlinePassed(this.method));
        if (remaining <= 0) expire();
        else this.timer = setTimeout(expire, remaining);
      }
    }
    return this.controller.signal;
  }

  /** Whether the call was aborted (cancelled, past its deadline, or the service stopping), and why. */
  get aborted(): boolean {
    return this.wasAborted || (this.controller?.signal.aborted ?? false);
  }

  get reason(): unknown {
    return this.controller?.signal.aborted ? this.controller.signal.reason : this.abortReason;
  }

  abort(reason: unknown): void {
    if (this.wasAborted) return;
    this.wasAborted = true;
    this.abortReason = reason;
    this.controller?.abort(reason);
  }

  /** Release the deadline timer once the handler has finished. */
  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
  }
}

/** Why a handler's signal aborts when its caller's deadline passes. */
export function deadlinePassed(method: string): DOMException {
  return new DOMException(`The caller's deadline for ${method} has passed`, "TimeoutError");
}
