import { cancelSoon, runSoon, type SoonHandle } from "../platform/runtime.js";

/** How a client batches requests towards one target service. */
export interface BatchSettings {
  /** At most this many requests in one batch message; more are split. Default 64. */
  maxBatchSize?: number;
  /** How long to wait for more requests, in ms. Default 0: only what is issued in the same event-loop turn. */
  maxWaitMs?: number;
}

export interface QueuedRequest {
  id: string;
  /** The encoded request object. */
  body: string;
  timeoutMs: number;
}

interface Queue {
  entries: QueuedRequest[];
  timer: SoonHandle | ReturnType<typeof setTimeout> | undefined;
}

export const DEFAULT_MAX_BATCH_SIZE = 64;

/**
 * Collects requests to one target issued in the same event-loop turn (or within `maxWaitMs`) and
 * hands them to `send` in chunks of at most `maxBatchSize`. What goes on the wire, and what happens
 * to entries whose callers gave up meanwhile, is the communicator's business.
 */
export class RequestBatcher {
  private readonly queue: Queue = { entries: [], timer: undefined };
  readonly maxBatchSize: number;
  readonly maxWaitMs: number;

  constructor(
    settings: BatchSettings,
    private readonly send: (entries: QueuedRequest[]) => void,
  ) {
    this.maxBatchSize = settings.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE;
    this.maxWaitMs = settings.maxWaitMs ?? 0;
  }

  add(entry: QueuedRequest): void {
    const queue = this.queue;
    queue.entries.push(entry);
    if (queue.entries.length >= this.maxBatchSize) {
      this.flush();
      return;
    }
    queue.timer ??= this.maxWaitMs > 0 ? setTimeout(() => this.flush(), this.maxWaitMs) : runSoon(() => this.flush());
  }

  flush(): void {
    const queue = this.queue;
    if (queue.timer !== undefined) {
      if (this.maxWaitMs > 0) clearTimeout(queue.timer as ReturnType<typeof setTimeout>);
      else cancelSoon(queue.timer);
      queue.timer = undefined;
    }
    const entries = queue.entries.splice(0);
    for (let i = 0; i < entries.length; i += this.maxBatchSize) this.send(entries.slice(i, i + this.maxBatchSize));
  }

  /** Drop everything queued (the communicator has rejected those calls already). */
  clear(): void {
    this.queue.entries.length = 0;
    this.flush();
  }
}
