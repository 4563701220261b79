/**
 * Per-method counters of a server, like NATS micro's STATS: calls, errors and a latency histogram from
 * which p50 and p99 are read. Fixed memory per method (a histogram of 128 counters); only methods with a
 * registered handler are counted, so a flood of unknown method names costs nothing here.
 */

import type { CallObserver } from "../communicator/membership.js";

/** Buckets per power of two: the percentiles are exact to within 2^(1/4), about 19 %. */
const STEPS_PER_DOUBLING = 4;
/** From 1 µs up to 2^32 µs (71 minutes); slower calls count in the last bucket. */
const BUCKETS = 32 * STEPS_PER_DOUBLING;

class MethodStats {
  calls = 0;
  errors = 0;
  totalMs = 0;
  readonly histogram = new Uint32Array(BUCKETS);

  record(elapsedMs: number, failed: boolean): void {
    this.calls++;
    if (failed) this.errors++;
    this.totalMs += elapsedMs;
    const micros = elapsedMs * 1000;
    const bucket = micros <= 1 ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log2(micros) * STEPS_PER_DOUBLING));
    this.histogram[bucket]!++;
  }

  /** The latency under which `fraction` of the calls finished, in ms (the upper edge of its bucket). */
  percentile(fraction: number): number {
    if (this.calls === 0) return 0;
    const wanted = Math.ceil(this.calls * fraction);
    let seen = 0;
    for (let bucket = 0; bucket < BUCKETS; bucket++) {
      seen += this.histogram[bucket]!;
      if (seen >= wanted) return round(2 ** (bucket / STEPS_PER_DOUBLING) / 1000);
    }
    return round(2 ** (BUCKETS / STEPS_PER_DOUBLING) / 1000);
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** What `rpc.stats` answers. */
export interface StatsSnapshot {
  /** The instance's client id. */
  instance: string;
  /** When it started, ms since the epoch. */
  startedAt: number;
  /** Per method: calls answered (errors included), errors, and latency in ms. */
  methods: Record<string, { calls: number; errors: number; averageMs: number; p50Ms: number; p99Ms: number }>;
}

/** Counts the requests a server's handlers answered, per method: what `rpc.stats` reports. */
export class ServiceStats implements CallObserver {
  private readonly methods = new Map<string, MethodStats>();

  constructor(
    private readonly instance: string,
    private readonly startedAt: () => number,
  ) {}

  /** A request to `method` (which has a handler) finished after `elapsedMs`. */
  finished(method: string, elapsedMs: number, failed: boolean): void {
    let stats = this.methods.get(method);
    if (stats === undefined) this.methods.set(method, (stats = new MethodStats()));
    stats.record(elapsedMs, failed);
  }

  snapshot(): StatsSnapshot {
    const methods: StatsSnapshot["methods"] = {};
    for (const [method, stats] of [...this.methods].sort(([a], [b]) => (a < b ? -1 : 1))) {
      methods[method] = {
        calls: stats.calls,
        errors: stats.errors,
        averageMs: stats.calls === 0 ? 0 : round(stats.totalMs / stats.calls),
        p50Ms: stats.percentile(0.5),
        p99Ms: stats.percentile(0.99),
      };
    }
    return { instance: this.instance, startedAt: this.startedAt(), methods };
  }
}
