/** Slots of a new table; it doubles when half full and halves when under an eighth full. */
const MIN_SLOTS = 64;

/** An entry whose slot was taken when it was added. */
interface Spilled<V> {
  value: V;
  stamp: number;
}

/**
 * A map for keys handed out in sequence that come and go all the time: the ids of requests in
 * flight, the MQTT packet ids of publishes waiting for their PUBACK. The entry of a key whose
 * sequence number is n sits in slot n mod the table size, and is cleared in place when it goes; an
 * entry whose slot is still taken (by one older by a whole table) waits in a small `Map` instead.
 *
 * Why not a `Map`: under steady churn a `Map` rebuilds its hash table every few hundred entries;
 * once the table has reached V8's old generation it builds each new one there too, and the table it
 * leaves behind still points at the entries it held. Until the next full collection those dead
 * tables keep every entry they held, and everything the entries hold, alive through each young
 * collection, which then copies it into the old generation. Measured on the bench client at 64
 * calls in flight on Mosquitto (`npm run bench`, "promoted B/call"): 1 075 bytes promoted per
 * call with `Map`s for the pending requests and mqtt.js's outgoing store, ~145 with this table for
 * both. The faster the old generation fills, the further V8 lets the heap grow before a full
 * collection, so this is peak RSS.
 */
export class SequenceMap<K, V> {
  private keys: (K | undefined)[] = [];
  private entries: (V | undefined)[] = [];
  /** Insertion order of each slot's entry; 0 for an empty slot. */
  private stamps: number[] = [];
  private readonly overflow = new Map<K, Spilled<V>>();
  private nextStamp = 0;
  private count = 0;

  /** `sequenceOf(key)`: the key's sequence number, mod 2^32 if it is larger. */
  constructor(private readonly sequenceOf: (key: K) => number) {
    this.allocate(MIN_SLOTS);
  }

  get size(): number {
    return this.count;
  }

  get(key: K): V | undefined {
    const slot = this.slotOf(key);
    if (this.stamps[slot] !== 0 && this.keys[slot] === key) return this.entries[slot];
    return this.overflow.size === 0 ? undefined : this.overflow.get(key)?.value;
  }

  has(key: K): boolean {
    return this.get(key) !== undefined;
  }

  /** Add `key`, or replace its value (it keeps its place in the order). */
  set(key: K, value: V): this {
    let slot = this.slotOf(key);
    if (this.stamps[slot] !== 0 && this.keys[slot] === key) {
      this.entries[slot] = value;
      return this;
    }
    const spilled = this.overflow.get(key);
    if (spilled !== undefined) {
      spilled.value = value;
      return this;
    }
    if (this.count >= this.stamps.length >>> 1) {
      this.resize(this.stamps.length * 2);
      slot = this.slotOf(key);
    }
    this.place(slot, key, value, ++this.nextStamp);
    this.count++;
    return this;
  }

  /** Remove `key`; returns its value, or undefined if it was not there. */
  delete(key: K): V | undefined {
    const slot = this.slotOf(key);
    let value: V | undefined;
    if (this.stamps[slot] !== 0 && this.keys[slot] === key) {
      value = this.entries[slot];
      this.keys[slot] = undefined;
      this.entries[slot] = undefined;
      this.stamps[slot] = 0;
    } else {
      const spilled = this.overflow.get(key);
      if (spilled === undefined) return undefined;
      this.overflow.delete(key);
      value = spilled.value;
    }
    this.count--;
    if (this.stamps.length > MIN_SLOTS && this.count < this.stamps.length >>> 3) this.resize(this.stamps.length >>> 1);
    return value;
  }

  /** Every value, oldest first. */
  values(): V[] {
    return this.ordered().map(([, value]) => value);
  }

  clear(): void {
    this.overflow.clear();
    this.keys.fill(undefined);
    this.entries.fill(undefined);
    this.allocate(MIN_SLOTS);
    this.count = 0;
  }

  private slotOf(key: K): number {
    return this.sequenceOf(key) & (this.stamps.length - 1);
  }

  private place(slot: number, key: K, value: V, stamp: number): void {
    if (this.stamps[slot] === 0) {
      this.keys[slot] = key;
      this.entries[slot] = value;
      this.stamps[slot] = stamp;
    } else {
      this.overflow.set(key, { value, stamp });
    }
  }

  /** Entries as [stamp, value, key], oldest first. */
  private ordered(): [number, V, K][] {
    const all: [number, V, K][] = [];
    for (let slot = 0; slot < this.stamps.length; slot++) {
      if (this.stamps[slot] !== 0) all.push([this.stamps[slot]!, this.entries[slot]!, this.keys[slot]!]);
    }
    for (const [key, { value, stamp }] of this.overflow) all.push([stamp, value, key]);
    return all.sort((a, b) => a[0] - b[0]);
  }

  private resize(slots: number): void {
    const all = this.ordered();
    this.overflow.clear();
    // The old arrays may be in the old generation already: emptied, they keep nothing young alive.
    this.keys.fill(undefined);
    this.entries.fill(undefined);
    this.allocate(slots);
    for (const [stamp, value, key] of all) this.place(this.slotOf(key), key, value, stamp);
  }

  private allocate(slots: number): void {
    this.keys = new Array<K | undefined>(slots).fill(undefined);
    this.entries = new Array<V | undefined>(slots).fill(undefined);
    this.stamps = new Array<number>(slots).fill(0);
  }
}
