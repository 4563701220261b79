import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PendingRequests } from "../src/communicator/pending-requests.js";
import { CommunicationError, RequestTimeoutError } from "mqtt-contracts";

const call = { target: "svc", method: "m", timeoutMs: 60_000 };

/** Add `count` calls; returns their ids and promises. */
function addCalls(pending: PendingRequests, count: number, timeoutMs = call.timeoutMs): { ids: string[]; results: Promise<unknown>[] } {
  const ids: string[] = [];
  const results: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const id = pending.nextId();
    ids.push(id);
    const result = pending.add(id, { ...call, timeoutMs });
    result.catch(() => undefined); // rejections are checked where a test cares
    results.push(result);
  }
  return { ids, results };
}

describe("PendingRequests", () => {
  let pending: PendingRequests;

  beforeEach(() => {
    pending = new PendingRequests("ab12cd34-");
  });

  afterEach(() => {
    pending.rejectAll(() => new CommunicationError("test over"));
  });

  it("hands out ids with its prefix, one number up each time", () => {
    expect([pending.nextId(), pending.nextId(), pending.nextId()]).toEqual(["ab12cd34-1", "ab12cd34-2", "ab12cd34-3"]);
  });

  it("keeps thousands of calls in flight and settles each by its own id, in any order", async () => {
    const { ids, results } = addCalls(pending, 5_000);
    expect(pending.size).toBe(5_000);
    const order = ids.map((id, index) => ({ id, index })).sort((a, b) => ((a.index * 7_919) % 5_000) - ((b.index * 7_919) % 5_000));
    for (const { id, index } of order) expect(pending.resolve(id, index)).toBe(true);
    expect(pending.size).toBe(0);
    expect(await Promise.all(results)).toEqual(ids.map((_, index) => index));
  });

  it("finds a call that outlived many tables' worth of newer ones (its slot taken meanwhile)", async () => {
    const [oldId] = addCalls(pending, 1).ids;
    const old = pending.add(pending.nextId(), call); // a second long-lived call, right after the first
    for (let round = 0; round < 50; round++) {
      const { ids, results } = addCalls(pending, 20);
      for (const id of ids) pending.resolve(id, id);
      await expect(Promise.all(results)).resolves.toEqual(ids);
    }
    expect(pending.size).toBe(2);
    expect(pending.has(oldId!)).toBe(true);
    expect(pending.describe(oldId!)).toEqual({ target: "svc", method: "m", timeoutMs: call.timeoutMs });
    expect(pending.resolve("ab12cd34-2", "second")).toBe(true);
    await expect(old).resolves.toBe("second");
  });

  it("still finds every call after growing under a burst and shrinking again", async () => {
    const burst = addCalls(pending, 3_000);
    const survivors = burst.ids.filter((_, index) => index % 500 === 0);
    for (const id of burst.ids) if (!survivors.includes(id)) pending.resolve(id, "burst");
    expect(pending.size).toBe(survivors.length);
    const later = addCalls(pending, 100);
    for (const id of [...survivors, ...later.ids]) expect(pending.resolve(id, id)).toBe(true);
    expect(pending.size).toBe(0);
    await expect(Promise.all(later.results)).resolves.toEqual(later.ids);
  });

  it("matches nothing for an id it did not hand out, or one already settled", () => {
    const { ids } = addCalls(pending, 3);
    pending.resolve(ids[0]!, "done");
    const foreign: unknown[] = [ids[0], 2, "ab12cd34-", "ab12cd34-02", "ab12cd34-2x", "ab12cd34-4294967298", "zz12cd34-2", `ab12cd34-${"9".repeat(400)}`, "", "2", null];
    for (const id of foreign) {
      expect(pending.has(id as string)).toBe(false);
      expect(pending.resolve(id as string, "wrong")).toBe(false);
      expect(pending.describe(id as string)).toBeUndefined();
    }
    expect(pending.size).toBe(2);
  });

  it("times a call out by itself, leaving the others", async () => {
    const slow = addCalls(pending, 2);
    const quick = addCalls(pending, 1, 20);
    await expect(quick.results[0]).rejects.toBeInstanceOf(RequestTimeoutError);
    expect(pending.size).toBe(2);
    expect(pending.has(slow.ids[1]!)).toBe(true);
  });

  it("rejects everything in flight with rejectAll, oldest first", async () => {
    const { ids, results } = addCalls(pending, 200);
    for (const id of ids.slice(0, 150)) pending.resolve(id, id); // the table grew to 512 slots and shrank to 256 on the way
    const order: string[] = [];
    const tail = results.slice(150).map((result, index) => result.catch(() => order.push(ids[150 + index]!)));
    pending.rejectAll((target, method) => new CommunicationError(`${method} to ${target} cancelled`));
    await Promise.all(tail);
    expect(order).toEqual(ids.slice(150));
    await expect(results[199]).rejects.toThrow("m to svc cancelled");
    expect(pending.size).toBe(0);
  });
});
