/**
 * A server's watch on a caller that promised signs of life (a stream's credit, a plain call's `alive`): when
 * it hears nothing for `idleMs`, the caller is gone (killed, cut off) and `gone` is told why, once.
 */
import { unrefTimer } from "../platform/runtime.js";

export class CallerWatch {
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly idleMs: number,
    private readonly gone: (reason: Error) => void,
  ) {
    this.touch();
  }

  /** The caller spoke: it is still there. */
  touch(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.gone(new Error(`the caller sent no credit or sign of life for ${this.idleMs} ms (idleMs): it is gone`)), this.idleMs);
    unrefTimer(this.timer);
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}
