import type { Logger } from "../logger.js";
import { unrefTimer } from "../platform/runtime.js";

export interface WarningLimits {
  /** Warnings of one kind logged per window; more are counted. Default 10. */
  perWindow?: number;
  /** Window length in ms. Default 10 000. */
  windowMs?: number;
}

/**
 * Warnings about bad input, rate-limited per kind: a flood of hostile messages must not become a flood
 * of log lines. In each window the first `perWindow` warnings of a kind are logged; the rest are
 * counted, and when the window ends one line says how many were suppressed. Kinds are fixed strings
 * from the runtime's code, never from the network, so the table stays small.
 */
export class WarningLimiter {
  private readonly kinds = new Map<string, { logged: number; suppressed: number; timer: NodeJS.Timeout | undefined }>();
  private readonly perWindow: number;
  private readonly windowMs: number;

  constructor(
    private readonly logger: Logger,
    limits: WarningLimits = {},
  ) {
    this.perWindow = limits.perWindow ?? 10;
    this.windowMs = limits.windowMs ?? 10_000;
  }

  /** Log `message()` as a warning of `kind` unless the kind is over its limit in this window. */
  warn(kind: string, message: () => string): void {
    let state = this.kinds.get(kind);
    if (state === undefined) {
      state = { logged: 0, suppressed: 0, timer: undefined };
      this.kinds.set(kind, state);
    }
    if (state.timer === undefined) {
      const current = state;
      current.timer = setTimeout(() => this.endWindow(kind, current), this.windowMs);
      unrefTimer(current.timer);
    }
    if (state.logged < this.perWindow) {
      state.logged++;
      this.logger.warn(message());
    } else {
      state.suppressed++;
    }
  }

  /** Report what is still suppressed and stop the timers (on stop()). */
  flush(): void {
    for (const [kind, state] of this.kinds) {
      clearTimeout(state.timer);
      this.endWindow(kind, state);
    }
  }

  private endWindow(kind: string, state: { logged: number; suppressed: number; timer: NodeJS.Timeout | undefined }): void {
    if (state.suppressed > 0) this.logger.warn(`${state.suppressed} more warnings of this kind suppressed in the last ${Math.round(this.windowMs / 1000)} s: ${kind}`);
    state.logged = 0;
    state.suppressed = 0;
    state.timer = undefined;
  }
}
