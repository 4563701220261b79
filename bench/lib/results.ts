/** What one run measures, and the medians over repetitions. */
import type { BrokerKind } from "../peers/peer.js";
import type { LatencyResult, ThroughputResult, WarmupResult } from "./messages.js";
import { median } from "./stats.js";

export interface LevelResult extends ThroughputResult {
  /** Server CPU (user + system) over the same period, µs. */
  serverCpuUs: number;
  /** The broker process's CPU over the same period, µs (NaN where /proc cannot tell). */
  brokerCpuUs: number;
}

/** One system on one broker, one repetition. */
export type RunResult =
  | {
      system: string;
      broker: BrokerKind;
      rep: number;
      ok: true;
      warmup: WarmupResult;
      latency: LatencyResult;
      levels: LevelResult[];
      clientMaxRssKiB: number;
      /** The client's heap after full collections, at the end of the run. */
      clientLiveHeapKiB: number;
      serverMaxRssKiB: number;
      /** The file the client's `import "mqtt-contracts"` resolved to. */
      runtime?: string;
      wallMs: number;
    }
  | { system: string; broker: BrokerKind; rep: number; ok: false; error: string; wallMs: number };

export type OkRun = Extract<RunResult, { ok: true }>;

/** Medians over the successful repetitions of one system on one broker; lost and failed are totals. */
export interface Summary {
  system: string;
  broker: BrokerKind;
  reps: number;
  okReps: number;
  /** Errors of the repetitions that failed. */
  errors: string[];
  p50Ms: number;
  p99Ms: number;
  latencyCalls: number;
  /** calls/s by in-flight level */
  callsPerSec: Record<number, number>;
  /** µs of CPU per answered call by in-flight level */
  clientCpuUsPerCall: Record<number, number>;
  serverCpuUsPerCall: Record<number, number>;
  brokerCpuUsPerCall: Record<number, number>;
  /** Bytes the client promoted to the old generation per answered call, by in-flight level. */
  clientPromotedBytesPerCall: Record<number, number>;
  /** The client's peak RSS during each in-flight level, KiB (NaN where it could not be measured). */
  clientLevelRssKiB: Record<number, number>;
  clientMaxRssKiB: number;
  clientLiveHeapKiB: number;
  serverMaxRssKiB: number;
  /** Timed-out calls over every repetition, latency and throughput phases (not warm-up). */
  lost: number;
  /** Calls that failed with an error or a wrong answer, same scope. */
  failed: number;
}

export function summarize(system: string, broker: BrokerKind, levels: readonly number[], runs: readonly RunResult[]): Summary {
  const ok = runs.filter((run): run is OkRun => run.ok);
  const level = (run: OkRun, inFlight: number) => run.levels.find((entry) => entry.inFlight === inFlight);
  const byLevel = (pick: (entry: LevelResult) => number) =>
    Object.fromEntries(levels.map((inFlight) => [inFlight, median(ok.map((run) => level(run, inFlight)).filter((entry) => entry !== undefined).map(pick))]));
  return {
    system,
    broker,
    reps: runs.length,
    okReps: ok.length,
    errors: runs.flatMap((run) => (run.ok ? [] : [`rep ${run.rep}: ${run.error}`])),
    p50Ms: median(ok.map((run) => run.latency.p50Ms)),
    p99Ms: median(ok.map((run) => run.latency.p99Ms)),
    latencyCalls: median(ok.map((run) => run.latency.calls)),
    callsPerSec: byLevel((entry) => entry.callsPerSec),
    clientCpuUsPerCall: byLevel((entry) => (entry.answered > 0 ? entry.clientCpuUs / entry.answered : Number.NaN)),
    serverCpuUsPerCall: byLevel((entry) => (entry.answered > 0 ? entry.serverCpuUs / entry.answered : Number.NaN)),
    brokerCpuUsPerCall: byLevel((entry) => (entry.answered > 0 ? entry.brokerCpuUs / entry.answered : Number.NaN)),
    clientPromotedBytesPerCall: byLevel((entry) => (entry.answered > 0 ? entry.promotedBytes / entry.answered : Number.NaN)),
    clientLevelRssKiB: byLevel((entry) => entry.peakRssKiB ?? Number.NaN),
    clientMaxRssKiB: median(ok.map((run) => run.clientMaxRssKiB)),
    clientLiveHeapKiB: median(ok.map((run) => run.clientLiveHeapKiB)),
    serverMaxRssKiB: median(ok.map((run) => run.serverMaxRssKiB)),
    lost: ok.reduce((sum, run) => sum + run.latency.lost + run.levels.reduce((s, entry) => s + entry.lost, 0), 0),
    failed: ok.reduce((sum, run) => sum + run.latency.failed + run.levels.reduce((s, entry) => s + entry.failed, 0), 0),
  };
}
