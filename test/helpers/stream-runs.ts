/** Streaming handlers that record what they did, for the tests of streams under faults. */
import { setTimeout as sleep } from "node:timers/promises";
import type { HandlerContext } from "mqtt-contracts";

/** What one run of a streaming handler did. */
export interface Run {
  yielded: number;
  /** When its signal aborted (Date.now()), and why. */
  aborted?: { at: number; reason: unknown };
  /** Set once the generator has finished (its `finally` ran): it can yield no more. */
  finishedWith?: number;
}

/** A handler yielding `{ i }` every `everyMs`, for ever, that records what it did in `runs`. */
export function ticker(runs: Run[], everyMs: number) {
  return async function* ticks(_params: unknown, context: HandlerContext) {
    const run: Run = { yielded: 0 };
    runs.push(run);
    context.signal.addEventListener("abort", () => (run.aborted = { at: Date.now(), reason: context.signal.reason }), { once: true });
    try {
      for (let i = 0; ; i++) {
        await sleep(everyMs, undefined, { signal: context.signal }).catch(() => undefined);
        if (context.signal.aborted) return { total: i };
        run.yielded++;
        yield { i };
      }
    } finally {
      run.finishedWith = run.yielded;
    }
  };
}
