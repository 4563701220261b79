/** What the orchestrator and its child processes say to each other over the IPC channel. */

/** Orchestrator → child: one command; the child answers with a `reply` of the same `seq`. */
export type Command =
  | { seq: number; cmd: "warmup"; firstCallMaxMs: number; calls: number; maxMs: number; timeoutMs: number }
  | { seq: number; cmd: "latency"; calls: number; maxMs: number; timeoutMs: number }
  | { seq: number; cmd: "throughput"; inFlight: number; durationMs: number; timeoutMs: number }
  | { seq: number; cmd: "usage" }
  /** Collect garbage fully, then report the heap still in use (needs `--expose-gc`). */
  | { seq: number; cmd: "heap" }
  | { seq: number; cmd: "stop" }
  /** Streaming bench (bench/stream.ts): one stream of `items`, read at `ratePerSec` items/s (0: as fast as they come). */
  | { seq: number; cmd: "stream"; items: number; credit: number; ratePerSec: number; timeoutMs: number }
  /** Streaming bench: `streams` fresh streams of `items` each, one after another; the time to each one's first item. */
  | { seq: number; cmd: "firstItem"; streams: number; items: number; credit: number; timeoutMs: number };

/** Child → orchestrator. */
export type ChildMessage =
  | { type: "ready"; detail?: Record<string, unknown> }
  | { type: "reply"; seq: number; ok: true; value: unknown }
  | { type: "reply"; seq: number; ok: false; error: string }
  | { type: "fatal"; error: string };

export interface Usage {
  /** `process.resourceUsage().maxRSS`: peak resident set size, KiB. */
  maxRssKiB: number;
  /** `process.cpuUsage()` user + system since the process started, µs. */
  cpuUs: number;
}

export interface HeapUsage {
  /** `v8.getHeapStatistics().used_heap_size` after full garbage collections, KiB: what the process keeps alive. */
  liveHeapKiB: number;
}

export interface WarmupResult {
  /** How long until the first call succeeded, ms. */
  firstOkMs: number;
  calls: number;
  failed: number;
}

export interface LatencyResult {
  calls: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  lost: number;
  failed: number;
}

export interface ThroughputResult {
  inFlight: number;
  durationMs: number;
  /** Calls answered correctly before the end of the period. */
  completed: number;
  /** Answered correctly, including calls that were in flight at the end and came back during the drain. */
  answered: number;
  /** Timed out. */
  lost: number;
  /** Rejected with an error, or answered with a wrong message. */
  failed: number;
  callsPerSec: number;
  /** Client CPU (user + system) over the period and the drain, µs. */
  clientCpuUs: number;
  /**
   * Bytes the client's young-generation collections moved to the old generation over the period and
   * the drain (`v8.GCProfiler`: old and large-object space growth across each scavenge). Promotion
   * is what fills the old generation between full collections, and its rate sets how far V8 lets
   * the heap grow before the next one.
   */
  promotedBytes: number;
  /**
   * The client's peak RSS during the period and the drain, KiB: `process.resourceUsage().maxRSS`
   * after the peak was reset to the current RSS at its start (Linux only; absent elsewhere).
   */
  peakRssKiB?: number;
}

/** One stream, as its client saw it. */
export interface StreamResult {
  items: number;
  /** Items that came, in order. */
  received: number;
  /** Items whose `i` was not the next one. */
  outOfOrder: number;
  /** From asking for the stream to its end (the last item, and for mqtt-contracts the result), ms. */
  elapsedMs: number;
  itemsPerSec: number;
  firstItemMs: number;
  /** Client CPU (user + system) over the stream, µs. */
  clientCpuUs: number;
}

export interface FirstItemResult {
  /** Time from asking for each stream to its first item, ms, in the order run. */
  samplesMs: number[];
  p50Ms: number;
}
