/**
 * The caller's bookkeeping of one streaming call: items taken in order by sequence number (a redelivered
 * copy dropped, a lost one named), credit granted back as the consumer takes items, a sign of life while
 * the server works, and the idle timeout.
 */
import { CommunicationError, RequestTimeoutError } from "../errors/errors.js";
import { ItemQueue } from "./call-stream.js";
import { unrefTimer } from "../platform/runtime.js";

/**
 * How many items may arrive ahead of a missing one before it counts as lost. A publisher may reorder a few
 * (paho-mqtt writes from two threads at once); the items are handed out in order regardless.
 */
const REORDER_WINDOW = 16;

export interface ClientStreamDeps {
  /** `<service>.<method>`, for messages. */
  name: string;
  target: string;
  /** Tell the server it may send `granted` items in all (the same total again: only a sign of life). */
  grant(granted: number): void;
  /** End the call with `error` (and tell the server). */
  fail(error: unknown): void;
}

export class ClientStream {
  readonly queue: ItemQueue<unknown>;
  /** Items received, in order: the next one's sequence number. */
  received = 0;
  private taken = 0;
  private granted: number;
  /** Whether anything went to the server since the last sign-of-life tick. */
  private spoke = true;
  private readonly heartbeat: NodeJS.Timeout;
  private idle: NodeJS.Timeout | undefined;
  private ended = false;
  /** Items that arrived ahead of one still missing, by sequence number. */
  private readonly early = new Map<number, unknown>();

  constructor(
    result: Promise<unknown>,
    private readonly credit: number,
    private readonly idleMs: number,
    private readonly deps: ClientStreamDeps,
  ) {
    this.granted = credit;
    this.queue = new ItemQueue(result, () => this.took(), (reason) => deps.fail(reason));
    // The server aborts a handler whose caller it has not heard from for idleMs: speak up well before that.
    this.heartbeat = setInterval(() => this.tick(), Math.max(1, Math.floor(idleMs / 3)));
    unrefTimer(this.heartbeat);
    this.armIdle();
  }

  /** Item `seq` arrived: handed out in order; one that is still missing when REORDER_WINDOW more came is lost. */
  item(seq: number, value: unknown): void {
    if (seq < this.received || this.early.has(seq)) return; // a copy (QoS 1 redelivery) of one already here
    if (seq > this.received) {
      if (seq - this.received < REORDER_WINDOW) {
        this.early.set(seq, value);
        return;
      }
      const first = Math.min(...this.early.keys(), seq);
      this.deps.fail(new CommunicationError(`The stream of ${this.deps.name} from ${this.deps.target} lost item ${this.received}: the next to arrive was item ${first}, and items up to ${seq} came without it`, { target: this.deps.target, details: { lost: this.received, arrived: seq } }));
      return;
    }
    this.accept(value);
    while (this.early.has(this.received)) {
      const next = this.early.get(this.received);
      this.early.delete(this.received);
      this.accept(next);
    }
  }

  private accept(value: unknown): void {
    this.received++;
    this.armIdle();
    this.queue.push(value);
  }

  /** The server's answer says it sent `items`: an error naming the gap when fewer arrived, else undefined. */
  gap(items: number): CommunicationError | undefined {
    if (items === this.received) return undefined;
    return new CommunicationError(`The stream of ${this.deps.name} from ${this.deps.target} lost item ${this.received}: it ended after ${items} items, and ${this.received} arrived in order`, { target: this.deps.target, details: { sent: items, arrived: this.received } });
  }

  /** The call ended (answered, failed, cancelled): iteration ends after the items still queued. */
  end(error?: unknown): void {
    this.ended = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.idle);
    this.queue.end(error);
  }

  /**
   * The consumer took an item: once a quarter of the credit is used, grant it back, so that the grant arrives
   * before the server has sent what it may (at half, measured, the server waited for credit most of the time).
   */
  private took(): void {
    this.taken++;
    if (this.ended) return; // the items left in the queue after the answer need no credit
    const outstanding = this.granted - this.taken;
    if (outstanding > (this.credit * 3) / 4) return;
    this.granted += this.credit - outstanding;
    this.spoke = true;
    this.deps.grant(this.granted);
  }

  private tick(): void {
    if (!this.spoke) this.deps.grant(this.granted);
    this.spoke = false;
  }

  /** No item for idleMs while the server had credit to send one: the stream times out. */
  private armIdle(): void {
    clearTimeout(this.idle);
    this.idle = setTimeout(() => {
      if (this.received >= this.granted) return this.armIdle(); // the consumer holds it back, not the server
      this.deps.fail(new RequestTimeoutError(`The stream of ${this.deps.name} from ${this.deps.target} sent no item for ${this.idleMs} ms (idleTimeoutMs)`, { target: this.deps.target, timeoutMs: this.idleMs }));
    }, this.idleMs);
    unrefTimer(this.idle);
  }
}
