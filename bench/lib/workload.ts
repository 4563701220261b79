/** The client-side workload: warm-up, sequential latency and closed-loop throughput. Runs in the client process. */
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { GCProfiler } from "node:v8";
import type { EchoClient } from "../peers/peer.js";
import { startPeakRssWindow } from "./child-side.js";
import type { LatencyResult, ThroughputResult, WarmupResult } from "./messages.js";
import { percentile } from "./stats.js";

/** ~100 bytes of params: `{"message":"…"}`. */
export const MESSAGE = "x".repeat(86);

type Outcome = "ok" | "lost" | "failed";

/** One call, classified. A call that ran into its timeout is lost; any other rejection or a wrong answer failed. */
async function callOnce(client: EchoClient, timeoutMs: number): Promise<Outcome> {
  const started = performance.now();
  try {
    const answer = await client.echo(MESSAGE, timeoutMs);
    return answer === MESSAGE ? "ok" : "failed";
  } catch {
    // Systems phrase their timeouts differently; the elapsed time does not.
    return performance.now() - started >= timeoutMs * 0.95 ? "lost" : "failed";
  }
}

/**
 * Calls until one succeeds (within `firstCallMaxMs`), then `calls` more or as many as fit in
 * `maxMs`. Failures here are reported but not counted as lost.
 */
export async function warmup(client: EchoClient, firstCallMaxMs: number, calls: number, maxMs: number, timeoutMs: number): Promise<WarmupResult> {
  const started = performance.now();
  const probeTimeoutMs = Math.min(timeoutMs, 1_000);
  let failed = 0;
  for (;;) {
    if ((await callOnce(client, probeTimeoutMs)) === "ok") break;
    failed++;
    if (performance.now() - started > firstCallMaxMs) throw new Error(`no call succeeded within ${Math.round(performance.now() - started)} ms (${failed} attempts)`);
    await yieldToLoop();
  }
  const firstOkMs = performance.now() - started;
  let done = 0;
  const deadline = performance.now() + maxMs;
  while (done < calls && performance.now() < deadline) {
    if ((await callOnce(client, timeoutMs)) !== "ok") failed++;
    done++;
  }
  return { firstOkMs, calls: done, failed };
}

/** Sequential calls: `calls` of them, or as many as fit in `maxMs`. */
export async function latency(client: EchoClient, calls: number, maxMs: number, timeoutMs: number): Promise<LatencyResult> {
  const samples: number[] = [];
  let lost = 0;
  let failed = 0;
  const deadline = performance.now() + maxMs;
  while (samples.length + lost + failed < calls && performance.now() < deadline) {
    const started = performance.now();
    const outcome = await callOnce(client, timeoutMs);
    if (outcome === "ok") samples.push(performance.now() - started);
    else if (outcome === "lost") lost++;
    else {
      failed++;
      await yieldToLoop();
    }
  }
  samples.sort((a, b) => a - b);
  const mean = samples.length ? samples.reduce((sum, value) => sum + value, 0) / samples.length : Number.NaN;
  return { calls: samples.length, p50Ms: percentile(samples, 0.5), p99Ms: percentile(samples, 0.99), meanMs: mean, lost, failed };
}

/**
 * Closed loop: `inFlight` workers, each calling again as soon as its call settles, for `durationMs`.
 * Only calls answered before the end count towards the rate; calls still in flight then are drained
 * (their failures count) before this resolves, so periods do not overlap.
 */
export async function throughput(client: EchoClient, inFlight: number, durationMs: number, timeoutMs: number): Promise<ThroughputResult> {
  let completed = 0;
  let answered = 0;
  let lost = 0;
  let failed = 0;
  const peakRss = startPeakRssWindow();
  const gcProfiler = new GCProfiler();
  gcProfiler.start();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const end = started + durationMs;
  const worker = async () => {
    while (performance.now() < end) {
      const outcome = await callOnce(client, timeoutMs);
      if (outcome === "ok") {
        answered++;
        if (performance.now() <= end) completed++;
      } else if (outcome === "lost") lost++;
      else {
        failed++;
        await yieldToLoop(); // an instant failure must not starve the event loop
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const cpu = process.cpuUsage(cpuBefore);
  const promotedBytes = promotedByScavenges(gcProfiler.stop());
  const peakRssKiB = peakRss();
  return {
    inFlight,
    durationMs,
    completed,
    answered,
    lost,
    failed,
    callsPerSec: completed / (durationMs / 1000),
    clientCpuUs: cpu.user + cpu.system,
    promotedBytes,
    ...(peakRssKiB === undefined ? {} : { peakRssKiB }),
  };
}

/** Spaces a scavenge moves survivors into. */
const OLD_SPACES = new Set(["old_space", "large_object_space"]);

/**
 * What the scavenges in a `GCProfiler` record moved to the old generation: the growth of the old
 * and large-object spaces across each one (a scavenge frees nothing there).
 */
export function promotedByScavenges(record: ReturnType<GCProfiler["stop"]>): number {
  const oldUsed = (spaces: readonly { spaceName: string; spaceUsedSize: number }[]) =>
    spaces.reduce((sum, space) => sum + (OLD_SPACES.has(space.spaceName) ? space.spaceUsedSize : 0), 0);
  let promoted = 0;
  for (const gc of record?.statistics ?? []) {
    if (gc.gcType !== "Scavenge") continue;
    promoted += oldUsed(gc.afterGC.heapSpaceStatistics) - oldUsed(gc.beforeGC.heapSpaceStatistics);
  }
  return promoted;
}
