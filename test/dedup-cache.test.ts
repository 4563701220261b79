import { describe, expect, it } from "vitest";
import { DedupCache } from "../src/communicator/dedup-cache.js";

describe("DedupCache", () => {
  const answers = () => {
    const got: string[] = [];
    return { got, reply: (body: string) => void got.push(body) };
  };
  const ignore = () => undefined;

  it("takes a request once; a duplicate waits for the same answer, and gets it again within the window", () => {
    const cache = new DedupCache({ windowMs: 1_000 });
    const first = answers();
    const dup = answers();
    const ticket = cache.begin("r/1", "a", first.reply, 0);
    expect(ticket).toBeGreaterThanOrEqual(0);
    expect(cache.begin("r/1", "a", dup.reply, 10)).toBe(-1);
    expect(dup.got).toEqual([]);
    cache.done(ticket, "answer ✓ ünïcode 🚀", 20);
    expect(dup.got).toEqual(["answer ✓ ünïcode 🚀"]);
    const late = answers();
    expect(cache.begin("r/1", "a", late.reply, 1_019)).toBe(-1);
    expect(late.got).toEqual(["answer ✓ ünïcode 🚀"]);
    // After the window it is a new request.
    expect(cache.begin("r/1", "a", ignore, 1_021)).toBeGreaterThanOrEqual(0);
  });

  it("tells ids and response topics apart: a string id and a number id with the same digits differ", () => {
    const cache = new DedupCache();
    expect(cache.begin("r", "1", ignore, 0)).toBeGreaterThanOrEqual(0);
    expect(cache.begin("r", 1, ignore, 0)).toBeGreaterThanOrEqual(0);
    expect(cache.begin("r/1", 1, ignore, 0)).toBeGreaterThanOrEqual(0);
    expect(cache.begin("r", 11, ignore, 0)).toBeGreaterThanOrEqual(0);
    expect(cache.begin("r", 1, ignore, 0)).toBe(-1);
  });

  it("keeps at most maxEntries, forgetting the oldest first", () => {
    const cache = new DedupCache({ maxEntries: 3, windowMs: 60_000 });
    for (let i = 0; i < 10; i++) cache.done(cache.begin("r", i, ignore, i), `a${i}`, i);
    expect(cache.size).toBe(3);
    expect(cache.begin("r", 0, ignore, 20)).toBeGreaterThanOrEqual(0); // forgotten: runs again
    const recent = answers();
    expect(cache.begin("r", 9, recent.reply, 20)).toBe(-1);
    expect(recent.got).toEqual(["a9"]);
  });

  it("forgets answered entries once their window has passed, without waiting for the size limit", () => {
    const cache = new DedupCache({ maxEntries: 1_000, windowMs: 100 });
    for (let i = 0; i < 50; i++) cache.done(cache.begin("r", i, ignore, 0), "x", 0);
    cache.begin("r", "new", ignore, 1_000);
    expect(cache.size).toBe(1);
  });

  it("lets a bounded number of duplicates wait for a running request", () => {
    const cache = new DedupCache();
    const ticket = cache.begin("r", "busy", ignore, 0);
    const waiting = answers();
    for (let i = 0; i < 100; i++) cache.begin("r", "busy", waiting.reply, 0);
    cache.done(ticket, "done", 1);
    expect(waiting.got).toHaveLength(8);
  });

  it("ignores the answer of a request forgotten while it ran (more than maxEntries came meanwhile)", () => {
    const cache = new DedupCache({ maxEntries: 2 });
    const old = cache.begin("r", "slow", ignore, 0);
    cache.begin("r", "b", ignore, 0);
    cache.begin("r", "c", ignore, 0);
    cache.done(old, "late", 1);
    expect(cache.begin("r", "slow", ignore, 2)).toBeGreaterThanOrEqual(0);
  });

  it("says so, instead of running again, for a duplicate whose answer the byte ring no longer holds", () => {
    const cache = new DedupCache({ maxEntries: 1_000, maxAnswerBytes: 1_024 });
    cache.done(cache.begin("r", "first", ignore, 0), "x".repeat(100), 0);
    for (let i = 0; i < 20; i++) cache.done(cache.begin("r", i, ignore, 0), "y".repeat(100), 0);
    let forgotten = 0;
    const got = answers();
    expect(cache.begin("r", "first", got.reply, 1, () => forgotten++)).toBe(-1);
    expect([forgotten, got.got]).toEqual([1, []]);
    // A recent one is still there.
    expect(cache.begin("r", 19, got.reply, 1, () => forgotten++)).toBe(-1);
    expect(got.got).toEqual(["y".repeat(100)]);
  });

  it("keeps a few answers too large for the ring as they are", () => {
    const cache = new DedupCache({ maxAnswerBytes: 1_024 });
    const big = "z".repeat(10_000);
    cache.done(cache.begin("r", "big", ignore, 0), big, 0);
    const got = answers();
    expect(cache.begin("r", "big", got.reply, 1)).toBe(-1);
    expect(got.got).toEqual([big]);
  });

  it("agrees with a plain Map model over 100 000 random operations, through evictions and table shifts", () => {
    const entries = 64;
    const cache = new DedupCache({ maxEntries: entries, windowMs: 50, maxAnswerBytes: 1 << 20 });
    // The model: the last `entries` tickets, each with its key, answer and expiry.
    const model: { key: string; answer: string | undefined; expires: number; ticket: number }[] = [];
    let seed = 42;
    const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    let now = 0;
    for (let step = 0; step < 100_000; step++) {
      now += random() < 0.1 ? 1 : 0;
      const id = Math.floor(random() * 150);
      const key = `t/${id % 3}\u0000${id}`;
      const live = model.find((entry) => entry.key === key && entry.expires > now);
      const got = answers();
      const ticket = cache.begin(`t/${id % 3}`, String(id), got.reply, now);
      if (live) {
        expect(ticket).toBe(-1);
        if (live.answer !== undefined) expect(got.got).toEqual([live.answer]);
      } else {
        expect(ticket).toBeGreaterThanOrEqual(0);
        const stale = model.findIndex((entry) => entry.key === key);
        if (stale >= 0) model.splice(stale, 1);
        model.push({ key, answer: undefined, expires: Number.POSITIVE_INFINITY, ticket });
        while (model.length > 0 && model[0]!.ticket <= ticket - entries) model.shift();
      }
      // Answer a random running one.
      const running = model.filter((entry) => entry.answer === undefined);
      if (running.length > 0 && random() < 0.7) {
        const entry = running[Math.floor(random() * running.length)]!;
        entry.answer = `answer ${entry.key} ${step}`;
        entry.expires = now + 50;
        cache.done(entry.ticket, entry.answer, now);
      }
    }
  });
});
