/** How many requests the dedup cache remembers by default. */
export const DEFAULT_DEDUP_ENTRIES = 10_000;
/** How long after its answer a request is remembered by default, in ms. */
export const DEFAULT_DEDUP_WINDOW_MS = 60_000;
/** Duplicates of one running request that wait for its answer; more are dropped. */
const MAX_WAITING = 8;

export interface DedupSettings {
  /** At most this many requests are remembered; the oldest is forgotten first. Default 10 000. */
  maxEntries?: number;
  /** How long a request is remembered after its answer, in ms. Default 60 000. */
  windowMs?: number;
}

type Reply = (body: string) => unknown;

interface Seen {
  /** The encoded answer, once there is one. */
  body: string | undefined;
  /** Replies of duplicates that arrived while the request was running. */
  waiting: Reply[] | undefined;
  /** When the entry may be forgotten (ms since epoch); Infinity while running. */
  expires: number;
}

/**
 * At-most-once execution: the requests a service took recently, by response topic and id. A
 * duplicate, as a broker may redeliver a QoS 1 message, does not run its handler again: while the first
 * is running it waits for the same answer, and within `windowMs` after that it gets the answer again.
 * Bounded in entries (the oldest goes first) and in time.
 */
export class DedupCache {
  private readonly entries = new Map<string, Seen>();
  readonly maxEntries: number;
  readonly windowMs: number;

  constructor(settings: DedupSettings = {}) {
    this.maxEntries = settings.maxEntries ?? DEFAULT_DEDUP_ENTRIES;
    this.windowMs = settings.windowMs ?? DEFAULT_DEDUP_WINDOW_MS;
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * A request arrives. Returns true when it is new: run it, and call `done(key, body)` with its answer.
   * Returns false for a duplicate, which `reply` now answers (or will, when the first finishes), or
   * drops when too many duplicates already wait.
   */
  begin(key: string, reply: Reply, now: number): boolean {
    const seen = this.entries.get(key);
    if (seen !== undefined && seen.expires > now) {
      if (seen.body !== undefined) reply(seen.body);
      else if ((seen.waiting ??= []).length < MAX_WAITING) seen.waiting.push(reply);
      return false;
    }
    if (seen !== undefined) this.entries.delete(key);
    this.entries.set(key, { body: undefined, waiting: undefined, expires: Infinity });
    this.evict(now);
    return true;
  }

  /** The request `key` was answered with `body`: answer the duplicates waiting, and keep it for the window. */
  done(key: string, body: string, now: number): void {
    const seen = this.entries.get(key);
    if (seen === undefined) return; // forgotten while running (over maxEntries)
    seen.body = body;
    seen.expires = now + this.windowMs;
    const waiting = seen.waiting;
    seen.waiting = undefined;
    if (waiting) for (const reply of waiting) reply(body);
  }

  /** Forget the oldest entries while over the size limit, and expired ones at the old end. */
  private evict(now: number): void {
    for (const [key, seen] of this.entries) {
      if (this.entries.size <= this.maxEntries && seen.expires > now) return;
      this.entries.delete(key);
    }
  }
}

/** The cache key of a request: its response topic and its id (a string and a number with the same digits differ). */
export function dedupKey(responseTopic: string, id: string | number): string {
  return typeof id === "string" ? `${responseTopic}\u0000s${id}` : `${responseTopic}\u0000n${id}`;
}
