import { describe, expect, it } from "vitest";
import { DedupCache, dedupKey } from "../src/communicator/dedup-cache.js";

describe("DedupCache", () => {
  const answers = () => {
    const got: string[] = [];
    return { got, reply: (body: string) => void got.push(body) };
  };

  it("takes a request once; a duplicate waits for the same answer, and gets it again within the window", () => {
    const cache = new DedupCache({ windowMs: 1_000 });
    const key = dedupKey("r/1", "a");
    const first = answers();
    const dup = answers();
    expect(cache.begin(key, first.reply, 0)).toBe(true);
    expect(cache.begin(key, dup.reply, 10)).toBe(false);
    expect(dup.got).toEqual([]);
    cache.done(key, "answer", 20);
    expect(dup.got).toEqual(["answer"]);
    const late = answers();
    expect(cache.begin(key, late.reply, 1_019)).toBe(false);
    expect(late.got).toEqual(["answer"]);
    // After the window it is a new request.
    expect(cache.begin(key, answers().reply, 1_021)).toBe(true);
  });

  it("tells ids and response topics apart: a string id and a number id with the same digits differ", () => {
    expect(dedupKey("r", "1")).not.toBe(dedupKey("r", 1));
    expect(dedupKey("r/1", 1)).not.toBe(dedupKey("r", 11));
  });

  it("keeps at most maxEntries, forgetting the oldest first", () => {
    const cache = new DedupCache({ maxEntries: 3, windowMs: 60_000 });
    for (let i = 0; i < 10; i++) {
      expect(cache.begin(dedupKey("r", i), () => undefined, i)).toBe(true);
      cache.done(dedupKey("r", i), `a${i}`, i);
    }
    expect(cache.size).toBe(3);
    const old = answers();
    expect(cache.begin(dedupKey("r", 0), old.reply, 20)).toBe(true); // forgotten: runs again
    const recent = answers();
    expect(cache.begin(dedupKey("r", 9), recent.reply, 20)).toBe(false);
    expect(recent.got).toEqual(["a9"]);
  });

  it("forgets answered entries once their window has passed, without waiting for the size limit", () => {
    const cache = new DedupCache({ maxEntries: 1_000, windowMs: 100 });
    for (let i = 0; i < 50; i++) {
      cache.begin(dedupKey("r", i), () => undefined, 0);
      cache.done(dedupKey("r", i), "x", 0);
    }
    cache.begin(dedupKey("r", "new"), () => undefined, 1_000);
    expect(cache.size).toBe(1);
  });

  it("lets a bounded number of duplicates wait for a running request", () => {
    const cache = new DedupCache();
    const key = dedupKey("r", "busy");
    cache.begin(key, () => undefined, 0);
    const waiting = answers();
    for (let i = 0; i < 100; i++) cache.begin(key, waiting.reply, 0);
    cache.done(key, "done", 1);
    expect(waiting.got).toHaveLength(8);
  });
});
