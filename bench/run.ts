/**
 * `npm run bench [-- --quick] [--reps N] [--systems a,b] [--brokers aedes,mosquitto] [--baseline DIR] [--cpu-prof] [--no-streams]`
 *
 * Echo RPC over MQTT: mqtt-contracts (generated client and server: plain, auto-batched, and without request expiry), a
 * hand-written mqtt.js baseline, Moleculer 0.14 and NestJS microservices (shipped and pinned
 * `ClientMqtt`), on aedes and on Mosquitto. The broker, each server and each client run in
 * processes of their own, driven over IPC (bench/processes/). A system that fails is reported as
 * failed; the run goes on. Writes bench/results/<latest|quick>.{md,json} and one SVG chart per
 * broker, and prints the Markdown at the end. Then, unless `--no-streams` (or some systems only), the
 * streaming rows (bench/lib/stream-bench.ts): their report goes to bench/results/stream*.{md,json} and is
 * appended to this one.
 *
 * `--baseline DIR` compares this tree's runtime with another commit's, in the same run: DIR is a
 * checkout of it (`git worktree add /tmp/base main`; it needs no node_modules). Its src/, generated/
 * and contracts/ are compiled with this tree's tsc and options into .bench-build/baseline/, beside this
 * tree's compiled bench code, so each selected mqtt-contracts system gets a `baseline:<id>` twin that
 * runs the same peer on the other runtime (bench/lib/baseline.ts). The twins take turns with the
 * others as usual; the report (<name>-baseline.md) opens with current/baseline ratios of p50, calls/s
 * and client + server CPU per call at each level, paired by repetition. The log names the file each
 * process loaded `mqtt-contracts` from, and a fingerprint of each compiled runtime.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { startNatsCluster } from "../test/helpers/nats-cluster.js";
import { throughputChart } from "./lib/chart.js";
import { BASELINE_BUILD_DIR, buildBaseline, describeBuild, isBaselineSystem, underlyingSystem, type BuildInfo } from "./lib/baseline.js";
import { BUILD_DIR, buildBenchProcesses } from "./lib/build.js";
import { type BenchChild, repoRoot } from "./lib/child.js";
import { liveBroker, startLiveBroker, startLiveChild, stopLive, type LiveBroker } from "./lib/live.js";
import { runStreamBench, streamSettings } from "./lib/stream-bench.js";
import { grouped, ms } from "./lib/format.js";
import { describeMachine } from "./lib/machine.js";
import { processCpuUs } from "./lib/process-cpu.js";
import type { HeapUsage, LatencyResult, ThroughputResult, Usage, WarmupResult } from "./lib/messages.js";
import { markdownReport } from "./lib/report.js";
import { summarize, type LevelResult, type RunResult } from "./lib/results.js";
import { parseSettings, type BenchSettings } from "./lib/settings.js";
import type { BrokerKind } from "./peers/peer.js";
import { findSystem } from "./peers/systems.js";

const RESULTS_DIR = join(repoRoot, "bench", "results");
const PROFILES_DIR = join(RESULTS_DIR, "profiles");
/** Slack on top of what a command should take, before its process is declared hung. */
const SLACK_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;

const log = (message: string) => console.error(`[bench] ${message}`);


type RunningBroker = LiveBroker<BrokerKind>;

async function startBrokerOf(kind: BrokerKind, settings: BenchSettings): Promise<RunningBroker> {
  const tcpNoDelay = !settings.stockSockets;
  if (kind === "nats" || kind === "nats-cross") {
    const cluster = await startNatsCluster({ nodes: 3 });
    const close = liveBroker(cluster);
    const [client, server] = cluster.nodes;
    const url = new URL(client!.mqttUrl);
    return {
      target: { broker: kind, url: client!.mqttUrl, host: url.hostname, port: Number(url.port), protocolVersion: 4, qos: 1, tcpNoDelay, ...(kind === "nats-cross" ? { serverUrl: server!.mqttUrl } : {}) },
      pid: client!.pid,
      stop: close,
    };
  }
  return startLiveBroker(kind, { tcpNoDelay });
}

async function runOnce(settings: BenchSettings, systemId: string, broker: RunningBroker, rep: number): Promise<RunResult> {
  const started = performance.now();
  const { target } = broker;
  const where = `${target.broker} · ${systemId} · rep ${rep}/${settings.reps}`;
  // A baseline: system runs the same peer, from the baseline build (bench/lib/baseline.ts).
  const underlying = underlyingSystem(systemId);
  const buildDir = isBaselineSystem(systemId) ? BASELINE_BUILD_DIR : BUILD_DIR;
  const profile = (role: string) =>
    settings.cpuProf && findSystem(underlying).profiled
      ? ["--cpu-prof", "--cpu-prof-dir", PROFILES_DIR, "--cpu-prof-name", `${systemId.replace(":", "-")}-${target.broker}-${role}-rep${rep}.cpuprofile`]
      : [];
  const peerArgs = (role: string) => [role, underlying, JSON.stringify(target)];
  let server: BenchChild | undefined;
  let client: BenchChild | undefined;
  try {
    // Both at once (starting Node and loading a framework is most of the wait). No request is sent
    // before both are ready; a server that reports ready before its subscription is in place costs a
    // retried first call in the warm-up, nothing more.
    const [serverStart, clientStart] = await Promise.allSettled([
      startLiveChild(`${systemId} server`, "peer.ts", peerArgs("server"), profile("server"), buildDir),
      // --expose-gc only exposes gc() for the live-heap measurement at the end; it changes no GC behaviour.
      startLiveChild(`${systemId} client`, "peer.ts", peerArgs("client"), ["--expose-gc", ...profile("client")], buildDir),
    ]);
    if (serverStart.status === "fulfilled") server = serverStart.value;
    if (clientStart.status === "fulfilled") client = clientStart.value;
    if (serverStart.status === "rejected") throw serverStart.reason;
    if (clientStart.status === "rejected") throw clientStart.reason;
    if (server === undefined || client === undefined) throw new Error("unreachable");
    const runtime = client.detail.runtime as string | undefined;
    if (settings.baseline !== undefined && rep === 1) log(`${where} · mqtt-contracts from ${runtime} (server: ${String(server.detail.runtime)})`);
    const { timeoutMs } = settings;
    const warm = await client.request<WarmupResult>(
      { cmd: "warmup", firstCallMaxMs: settings.firstCallMaxMs, calls: settings.warmupCalls, maxMs: settings.warmupMaxMs, timeoutMs },
      settings.firstCallMaxMs + settings.warmupMaxMs + 2 * timeoutMs + SLACK_MS,
    );
    const latency = await client.request<LatencyResult>({ cmd: "latency", calls: settings.latencyCalls, maxMs: settings.latencyMaxMs, timeoutMs }, settings.latencyMaxMs + timeoutMs + SLACK_MS);
    log(`${where} · latency: p50 ${ms(latency.p50Ms)} ms, p99 ${ms(latency.p99Ms)} ms over ${grouped(latency.calls)} calls${latency.lost + latency.failed > 0 ? ` (${latency.lost} lost, ${latency.failed} failed)` : ""}`);
    const levels: LevelResult[] = [];
    for (const inFlight of settings.levels) {
      const before = await server.request<Usage>({ cmd: "usage" }, SLACK_MS);
      const brokerBefore = processCpuUs(broker.pid);
      const result = await client.request<ThroughputResult>({ cmd: "throughput", inFlight, durationMs: settings.levelMs, timeoutMs }, settings.levelMs + timeoutMs + SLACK_MS);
      const brokerAfter = processCpuUs(broker.pid);
      const after = await server.request<Usage>({ cmd: "usage" }, SLACK_MS);
      levels.push({ ...result, serverCpuUs: after.cpuUs - before.cpuUs, brokerCpuUs: brokerAfter - brokerBefore });
      const losses = result.lost + result.failed > 0 ? ` (${result.lost} lost, ${result.failed} failed)` : "";
      log(`${where} · ${inFlight} in flight: ${grouped(result.callsPerSec)} calls/s${losses}`);
    }
    // After every level, so that the collections it forces cannot lower the peak RSS measured above.
    const clientHeap = await client.request<HeapUsage>({ cmd: "heap" }, SLACK_MS);
    const clientUsage = await client.stop<Usage>(STOP_TIMEOUT_MS);
    const serverUsage = await server.stop<Usage>(STOP_TIMEOUT_MS);
    if (clientUsage === undefined || serverUsage === undefined) throw new Error("a process died while stopping");
    return { system: systemId, broker: target.broker, rep, ok: true, warmup: warm, latency, levels, clientMaxRssKiB: clientUsage.maxRssKiB, clientLiveHeapKiB: clientHeap.liveHeapKiB, serverMaxRssKiB: serverUsage.maxRssKiB, runtime, wallMs: performance.now() - started };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log(`${where} · failed: ${message.split("\n")[0]}`);
    return { system: systemId, broker: target.broker, rep, ok: false, error: message, wallMs: performance.now() - started };
  } finally {
    client?.kill();
    server?.kill();
    await Promise.all([client?.exited, server?.exited]);
  }
}


async function main(): Promise<void> {
  const settings = parseSettings(process.argv.slice(2));
  const startedAt = new Date();
  const started = performance.now();
  log("compiling the benchmark processes (tsc -p tsconfig.bench.json)...");
  buildBenchProcesses();
  let builds: { current: BuildInfo; baseline: BuildInfo } | undefined;
  if (settings.baseline !== undefined) {
    log(`compiling the baseline runtime of ${settings.baseline} into ${BASELINE_BUILD_DIR}...`);
    const baseline = buildBaseline(settings.baseline, log);
    builds = { current: describeBuild(repoRoot, BUILD_DIR), baseline };
    log(`current: ${builds.current.commit}, runtime ${builds.current.fingerprint}; baseline: ${baseline.commit} at ${baseline.dir}, runtime ${baseline.fingerprint}${baseline.dirty.length ? ` (uncommitted: ${baseline.dirty.join("; ")})` : ""}`);
  }
  const machine = describeMachine();
  if (settings.cpuProf) await mkdir(PROFILES_DIR, { recursive: true });
  log(`${settings.mode}: ${settings.systems.join(", ")} on ${settings.brokers.join(", ")}, ${settings.reps} rep(s); ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}`);

  const runs: RunResult[] = [];
  for (let rep = 1; rep <= settings.reps; rep++) {
    for (const kind of settings.brokers) {
      let broker: RunningBroker;
      try {
        broker = await startBrokerOf(kind, settings);
      } catch (error) {
        const message = `the ${kind} broker did not start: ${(error as Error).message}`;
        log(message);
        for (const system of settings.systems) runs.push({ system, broker: kind, rep, ok: false, error: message, wallMs: 0 });
        continue;
      }
      try {
        // Rotate the order per repetition so that no system always runs first (or last) on a broker.
        const offset = (rep - 1) % settings.systems.length;
        const order = [...settings.systems.slice(offset), ...settings.systems.slice(0, offset)];
        for (const system of order) runs.push(await runOnce(settings, system, broker, rep));
      } finally {
        await broker.stop();
      }
    }
  }

  const summaries = settings.brokers.flatMap((broker) =>
    settings.systems.map((system) => summarize(system, broker, settings.levels, runs.filter((run) => run.system === system && run.broker === broker))),
  );
  await mkdir(RESULTS_DIR, { recursive: true });
  const charts: Partial<Record<BrokerKind, string>> = {};
  for (const broker of settings.brokers) {
    const file = `${settings.outName}-throughput-${broker}.svg`;
    const series = summaries
      .filter((summary) => summary.broker === broker)
      .map((summary) => ({ name: summary.system, points: summary.callsPerSec, failed: summary.okReps === 0 }));
    const reps = settings.reps === 1 ? "1 rep" : `median of ${settings.reps} reps`;
    await writeFile(join(RESULTS_DIR, file), throughputChart(`Echo over MQTT on ${broker}: throughput by calls in flight (${reps})`, settings.levels, series));
    charts[broker] = file;
  }
  let streamMarkdown = "";
  if (settings.streams) {
    const brokers = settings.brokers.filter((broker): broker is "aedes" | "mosquitto" => broker === "aedes" || broker === "mosquitto");
    const partial = brokers.length < 2;
    const streamed = await runStreamBench(streamSettings({ quick: settings.mode === "quick", reps: settings.reps, brokers, cpuProf: settings.cpuProf, partial }), (message) => log(`streams: ${message}`));
    streamMarkdown = `\n${streamed.markdown.replace(/^# /, "## ")}`;
  }
  const wallMs = performance.now() - started;
  const markdown = markdownReport({ settings, machine, summaries, runs, builds, startedAt, wallMs, charts }) + streamMarkdown;
  await writeFile(join(RESULTS_DIR, `${settings.outName}.md`), markdown);
  await writeFile(join(RESULTS_DIR, `${settings.outName}.json`), JSON.stringify({ startedAt: startedAt.toISOString(), wallMs, settings, machine, builds, summaries, runs }, null, 2) + "\n");
  log(`wrote bench/results/${settings.outName}.md, .json and ${Object.values(charts).join(", ")} in ${Math.round(wallMs / 1000)} s`);
  console.log(markdown);
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping`);
    void stopLive().finally(() => process.exit(130));
  });
}
try {
  await main();
} catch (error) {
  console.error(`[bench] ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  await stopLive();
}
