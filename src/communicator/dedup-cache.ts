import { allocBytes, utf8Decode, utf8Length, writeUtf8 } from "../platform/bytes.js";

/** How many requests the dedup cache remembers by default. */
export const DEFAULT_DEDUP_ENTRIES = 10_000;
/** How long after its answer a request is remembered by default, in ms. */
export const DEFAULT_DEDUP_WINDOW_MS = 60_000;
/** How many bytes of answers the cache keeps by default (allocated on the first answer). */
export const DEFAULT_DEDUP_ANSWER_BYTES = 1024 * 1024;
/** Duplicates of one running request that wait for its answer; more are dropped. */
const MAX_WAITING = 8;
/** Answers larger than this share of the byte ring are kept as strings, at most `MAX_LARGE_ANSWERS` of them. */
const LARGE_ANSWER_SHARE = 8;
const MAX_LARGE_ANSWERS = 16;

export interface DedupSettings {
  /** At most this many requests are remembered; the oldest is forgotten first. Default 10 000. */
  maxEntries?: number;
  /** How long a request is remembered after its answer, in ms. Default 60 000. */
  windowMs?: number;
  /** Bytes of answers kept for duplicates; the oldest are overwritten first. Default 1 MiB. */
  maxAnswerBytes?: number;
}

type Reply = (body: string) => unknown;

/**
 * At-most-once execution: the requests a service took recently, by response topic and id. A duplicate,
 * as a broker may redeliver a QoS 1 message, does not run its handler again: while the first is running it
 * waits for the same answer, and within `windowMs` after that it gets the answer again. Bounded in entries
 * (the oldest goes first), in time, and in answer bytes.
 *
 * Kept in preallocated typed arrays, not in a `Map` of objects: at tens of thousands of requests a second,
 * every entry would otherwise live just long enough to be promoted to V8's old generation, and the cache
 * cost the server ~40 % more CPU per call and +60 MiB of RSS (see docs/performance.md). A request is a
 * 64-bit hash of its key in an open-addressing table, its answer is UTF-8 bytes in a ring; nothing per
 * request outlives a young-generation collection.
 */
export class DedupCache {
  readonly maxEntries: number;
  readonly windowMs: number;
  readonly maxAnswerBytes: number;
  // One slot per entry, taken in turn (a ring): slot = ticket % maxEntries.
  private readonly hashA: Int32Array;
  private readonly hashB: Int32Array;
  /** When the entry may be forgotten (ms since epoch); Infinity while its request runs. */
  private readonly expires: Float64Array;
  /** The ticket of the slot's entry, or -1. */
  private readonly ticketOf: Float64Array;
  /** Whether the slot's entry is in `table`. */
  private readonly indexed: Uint8Array;
  /** Absolute offset of the entry's answer in the byte ring; -1: none yet, -2: kept in `large`. */
  private readonly answerAt: Float64Array;
  private readonly answerLength: Int32Array;
  /** Open addressing, linear probing: slot + 1, or 0 for empty. */
  private readonly table: Int32Array;
  private readonly mask: number;
  private nextTicket = 0;
  private bytes: Uint8Array | undefined;
  /** Bytes written to the ring since it was made, skipped tails included. */
  private written = 0;
  private waiting: (Reply[] | undefined)[] | undefined;
  private large: Map<number, string> | undefined;
  private lastNow = 0;

  constructor(settings: DedupSettings = {}) {
    this.maxEntries = settings.maxEntries ?? DEFAULT_DEDUP_ENTRIES;
    this.windowMs = settings.windowMs ?? DEFAULT_DEDUP_WINDOW_MS;
    this.maxAnswerBytes = settings.maxAnswerBytes ?? DEFAULT_DEDUP_ANSWER_BYTES;
    const n = this.maxEntries;
    this.hashA = new Int32Array(n);
    this.hashB = new Int32Array(n);
    this.expires = new Float64Array(n);
    this.ticketOf = new Float64Array(n).fill(-1);
    this.indexed = new Uint8Array(n);
    this.answerAt = new Float64Array(n);
    this.answerLength = new Int32Array(n);
    let size = 2;
    while (size < n * 2) size *= 2;
    this.table = new Int32Array(size);
    this.mask = size - 1;
  }

  /** Entries remembered and not expired (as of the last call): for tests and diagnostics; O(maxEntries). */
  get size(): number {
    let count = 0;
    for (let slot = 0; slot < this.maxEntries; slot++) if (this.indexed[slot] === 1 && this.expires[slot]! > this.lastNow) count++;
    return count;
  }

  /**
   * A request arrives. Returns a ticket (≥ 0) when it is new: run it, and call `done(ticket, body)` with its
   * answer. Returns -1 for a duplicate, which `reply` now answers (or will, when the first finishes), or
   * drops when too many duplicates already wait. A duplicate whose first answer is no longer kept gets
   * `onForgotten()` instead: it must not run again.
   */
  begin(responseTopic: string, id: string | number, reply: Reply, now: number, onForgotten?: () => void): number {
    this.lastNow = now;
    const key = typeof id === "string" ? id : String(id);
    const tag = typeof id === "string" ? 115 /* s */ : 110; /* n */
    // Two independent 32-bit hashes (FNV-1a and a multiply-xorshift) over topic, separator, tag and id.
    let a = 0x811c9dc5 | 0;
    let b = 0x9747b28c | 0;
    for (let i = 0; i < responseTopic.length; i++) {
      const c = responseTopic.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
      b ^= b >>> 15;
    }
    a = Math.imul(a ^ tag, 0x01000193);
    b = Math.imul(b ^ tag, 0x5bd1e995);
    for (let i = 0; i < key.length; i++) {
      const c = key.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
      b ^= b >>> 15;
    }
    const found = this.find(a, b);
    if (found >= 0) {
      if (this.expires[found]! > now) {
        this.duplicate(found, reply, onForgotten);
        return -1;
      }
      this.unindex(found);
    }
    const ticket = this.nextTicket++;
    const slot = ticket % this.maxEntries;
    if (this.indexed[slot] === 1) this.unindex(slot);
    if (this.waiting !== undefined) this.waiting[slot] = undefined;
    if (this.answerAt[slot] === -2) this.large?.delete(this.ticketOf[slot]!);
    this.hashA[slot] = a;
    this.hashB[slot] = b;
    this.expires[slot] = Number.POSITIVE_INFINITY;
    this.ticketOf[slot] = ticket;
    this.answerAt[slot] = -1;
    this.index(slot);
    return ticket;
  }

  /** The request of `ticket` was answered with `body`: answer the duplicates waiting, and keep it for the window. */
  done(ticket: number, body: string, now: number): void {
    this.lastNow = now;
    const slot = ticket % this.maxEntries;
    if (this.ticketOf[slot] !== ticket) return; // forgotten while running (over maxEntries)
    this.expires[slot] = now + this.windowMs;
    this.keepAnswer(slot, ticket, body);
    const waiting = this.waiting?.[slot];
    if (waiting !== undefined) {
      this.waiting![slot] = undefined;
      for (const reply of waiting) reply(body);
    }
  }

  private duplicate(slot: number, reply: Reply, onForgotten: (() => void) | undefined): void {
    const at = this.answerAt[slot]!;
    if (at === -1) {
      const waiting = (this.waiting ??= new Array(this.maxEntries));
      const list = (waiting[slot] ??= []);
      if (list.length < MAX_WAITING) list.push(reply);
      return;
    }
    const body = at === -2 ? this.large?.get(this.ticketOf[slot]!) : this.readAnswer(at, this.answerLength[slot]!);
    if (body !== undefined) reply(body);
    else onForgotten?.();
  }

  private keepAnswer(slot: number, ticket: number, body: string): void {
    const capacity = this.maxAnswerBytes;
    const bytes = (this.bytes ??= allocBytes(capacity));
    let position = this.written % capacity;
    // A UTF-16 code unit is at most 3 bytes of UTF-8: when that fits, write without measuring first.
    let length = body.length * 3 <= capacity - position ? -1 : utf8Length(body);
    if (length > capacity / LARGE_ANSWER_SHARE) {
      const large = (this.large ??= new Map());
      if (large.size >= MAX_LARGE_ANSWERS) large.delete(large.keys().next().value!);
      large.set(ticket, body);
      this.answerAt[slot] = -2;
      return;
    }
    if (length > capacity - position) {
      this.written += capacity - position; // skip the tail: an answer is kept in one piece
      position = 0;
    }
    length = writeUtf8(bytes, body, position);
    this.answerAt[slot] = this.written;
    this.answerLength[slot] = length;
    this.written += length;
  }

  private readAnswer(at: number, length: number): string | undefined {
    // Overwritten once the ring has been written a whole turn past it.
    if (this.written - at > this.maxAnswerBytes || this.bytes === undefined) return undefined;
    const position = at % this.maxAnswerBytes;
    return utf8Decode(this.bytes, position, position + length);
  }

  private find(a: number, b: number): number {
    for (let i = a & this.mask; ; i = (i + 1) & this.mask) {
      const entry = this.table[i]!;
      if (entry === 0) return -1;
      const slot = entry - 1;
      if (this.hashA[slot] === a && this.hashB[slot] === b) return slot;
    }
  }

  private index(slot: number): void {
    let i = this.hashA[slot]! & this.mask;
    while (this.table[i] !== 0) i = (i + 1) & this.mask;
    this.table[i] = slot + 1;
    this.indexed[slot] = 1;
  }

  /** Remove `slot` from the table, shifting later entries of its probe run back (no tombstones). */
  private unindex(slot: number): void {
    this.indexed[slot] = 0;
    let i = this.hashA[slot]! & this.mask;
    while (this.table[i] !== slot + 1) i = (i + 1) & this.mask;
    for (let j = (i + 1) & this.mask; this.table[j] !== 0; j = (j + 1) & this.mask) {
      const home = this.hashA[this.table[j]! - 1]! & this.mask;
      // The entry at j may move to the hole at i unless its home lies cyclically in (i, j].
      const stays = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!stays) {
        this.table[i] = this.table[j]!;
        i = j;
      }
    }
    this.table[i] = 0;
  }
}
