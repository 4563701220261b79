/**
 * The streaming bench: one stream of many items of ~100 bytes from a server process to a client process,
 * mqtt-contracts (`sendStream` at several credits; a contract with a Zod `yields`) against the floor, mqtt.js
 * by hand publishing the same items at QoS 1 to a topic its client counts. Per row, in fresh processes: a
 * warm-up, the time to the first item of fresh short streams (p50), items/s of the measured stream with
 * client, server and broker CPU per item, and, for rows with a slow consumer, the server's RSS sampled while
 * it reads another stream at a fixed rate. The rows take turns, on aedes and on Mosquitto (started here on
 * free ports). Run by `npm run bench:stream` alone and by `npm run bench` after its echo rows.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { BenchChild } from "./child.js";
import { repoRoot } from "./child.js";
import { grouped, ms } from "./format.js";
import { describeMachine } from "./machine.js";
import type { FirstItemResult, StreamResult, Usage } from "./messages.js";
import { processCpuUs, processRssKiB } from "./process-cpu.js";
import { startLiveBroker, startLiveChild, type LiveBroker } from "./live.js";
import { streamReport, summarizeRows, type RowRun, type RowSummary, type RssTrace, type StreamRow, type StreamSettings } from "./stream-report.js";

const RESULTS_DIR = join(repoRoot, "bench", "results");
const PROFILES_DIR = join(RESULTS_DIR, "profiles");
const SLACK_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;
const RSS_SAMPLE_MS = 100;

export const ROWS: readonly StreamRow[] = [
  { id: "floor", system: "floor", credit: 0, slow: false, description: "mqtt.js by hand: the server publishes the items at QoS 1 in one loop to a topic the client subscribed to; the client parses and counts them. No credit, no envelope, no validation, no result" },
  { id: "mqtt-contracts credit 32", system: "mqtt-contracts", credit: 32, slow: true, description: "`registerHandler` with an async generator, `sendStream` with `credit: 32`" },
  { id: "mqtt-contracts credit 256", system: "mqtt-contracts", credit: 256, slow: true, description: "the same with `credit: 256`" },
  { id: "mqtt-contracts credit 1024", system: "mqtt-contracts", credit: 1024, slow: false, description: "the same with `credit: 1024`" },
  { id: "contract credit 32", system: "mqtt-contracts-contract", credit: 32, slow: false, description: "`registerService` + `ServiceClient.stream` with a Zod `yields`: each item validated on both ends; credit 32" },
];


/** What selects a streaming run; left out, the defaults of a full (or `quick`) run. */
export interface StreamChoices {
  quick: boolean;
  reps?: number;
  brokers?: StreamSettings["brokers"];
  /** Indexes into ROWS. */
  rows?: number[];
  items?: number;
  slowRatePerSec?: number;
  cpuProf?: boolean;
  /** Some brokers or rows only: the report goes to `stream[-quick]-partial.*`, not over the full one. */
  partial?: boolean;
}

export function streamSettings(choices: StreamChoices): StreamSettings {
  const { quick } = choices;
  const items = choices.items ?? (quick ? 20_000 : 100_000);
  return {
    mode: quick ? "quick" : "full",
    reps: choices.reps ?? (quick ? 1 : 3),
    brokers: choices.brokers ?? ["aedes", "mosquitto"],
    rows: (choices.rows ?? ROWS.map((_, i) => i)).map((index) => ROWS[index]!),
    items,
    warmupStreams: 3,
    warmupItems: Math.min(10_000, items),
    firstItemStreams: quick ? 10 : 30,
    firstItemItems: 10,
    slowItems: quick ? Math.min(8_000, items) : items,
    slowRatePerSec: choices.slowRatePerSec ?? 4_000,
    timeoutMs: 120_000,
    cpuProf: choices.cpuProf ?? false,
    outName: `stream${quick ? "-quick" : ""}${choices.partial ? "-partial" : ""}`,
  };
}

/** No limit on a client's queue on Mosquitto: its default (1 000 messages beyond the 20 in flight) drops the floor's burst. */
const startBroker = (kind: "aedes" | "mosquitto") => startLiveBroker(kind, { tcpNoDelay: true, mosquittoConfig: ["max_queued_messages 0"] });

/** Sample the RSS of the server and the broker every RSS_SAMPLE_MS until `stop()`. */
function sampleRss(serverPid: number | undefined, brokerPid: number | undefined): { stop(): RssTrace } {
  const trace: RssTrace = { atMs: [], serverKiB: [], brokerKiB: [] };
  const started = performance.now();
  const sample = () => {
    trace.atMs.push(Math.round(performance.now() - started));
    trace.serverKiB.push(processRssKiB(serverPid));
    trace.brokerKiB.push(processRssKiB(brokerPid));
  };
  sample();
  const timer = setInterval(sample, RSS_SAMPLE_MS);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return trace;
    },
  };
}

async function runRow(settings: StreamSettings, row: StreamRow, broker: LiveBroker, rep: number, log: (message: string) => void): Promise<RowRun> {
  const { target } = broker;
  const where = `${target.broker} · ${row.id} · rep ${rep}/${settings.reps}`;
  const profile = (role: string) => (settings.cpuProf ? ["--cpu-prof", "--cpu-prof-dir", PROFILES_DIR, "--cpu-prof-name", `stream-${row.id.replaceAll(" ", "-")}-${target.broker}-${role}-rep${rep}.cpuprofile`] : []);
  const args = (role: string) => [role, row.system, JSON.stringify(target)];
  let server: BenchChild | undefined;
  let client: BenchChild | undefined;
  const timeout = settings.timeoutMs + SLACK_MS;
  try {
    server = await startLiveChild(`${row.id} server`, "stream-peer.ts", args("server"), profile("server"));
    client = await startLiveChild(`${row.id} client`, "stream-peer.ts", args("client"), profile("client"));
    const serverIdleRssKiB = processRssKiB(server.pid);
    const stream = (items: number, ratePerSec = 0) => client!.request<StreamResult>({ cmd: "stream", items, credit: row.credit, ratePerSec, timeoutMs: settings.timeoutMs }, timeout);
    for (let i = 0; i < settings.warmupStreams; i++) await stream(settings.warmupItems);
    const firstItem = await client.request<FirstItemResult>({ cmd: "firstItem", streams: settings.firstItemStreams, items: settings.firstItemItems, credit: row.credit, timeoutMs: settings.timeoutMs }, timeout);
    const serverBefore = await server.request<Usage>({ cmd: "usage" }, SLACK_MS);
    const brokerBefore = processCpuUs(broker.pid);
    const fast = await stream(settings.items);
    const brokerCpuUs = processCpuUs(broker.pid) - brokerBefore;
    const serverCpuUs = (await server.request<Usage>({ cmd: "usage" }, SLACK_MS)).cpuUs - serverBefore.cpuUs;
    log(`${where} · ${grouped(fast.itemsPerSec)} items/s (${grouped(fast.received)} items in ${ms(fast.elapsedMs)} ms), first item p50 ${ms(firstItem.p50Ms)} ms`);
    let slow: Extract<RowRun, { ok: true }>["slow"];
    if (row.slow) {
      const sampler = sampleRss(server.pid, broker.pid);
      const result = await stream(settings.slowItems, settings.slowRatePerSec);
      const rss = sampler.stop();
      slow = { result, rss };
      const max = Math.max(...rss.serverKiB);
      log(`${where} · slow consumer: ${grouped(result.itemsPerSec)} items/s; server RSS ${grouped(rss.serverKiB[0]! / 1024)} → max ${grouped(max / 1024)} MiB`);
    }
    const check = [fast, ...(slow ? [slow.result] : [])].find((result) => result.received !== result.items || result.outOfOrder > 0);
    if (check !== undefined) throw new Error(`${check.received} of ${check.items} items came, ${check.outOfOrder} out of order`);
    await client.stop(STOP_TIMEOUT_MS);
    await server.stop(STOP_TIMEOUT_MS);
    return { row: row.id, broker: target.broker, rep, ok: true, serverIdleRssKiB, firstItem, fast, serverCpuUs, brokerCpuUs, ...(slow ? { slow } : {}) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log(`${where} · failed: ${message.split("\n")[0]}`);
    return { row: row.id, broker: target.broker, rep, ok: false, error: message };
  } finally {
    client?.kill();
    server?.kill();
    await Promise.all([client?.exited, server?.exited]);
  }
}

/** Every row on every broker, `settings.reps` times; the processes must be compiled (`buildBenchProcesses`). */
export async function runStreamBench(settings: StreamSettings, log: (message: string) => void): Promise<{ markdown: string; summaries: RowSummary[]; runs: RowRun[] }> {
  const startedAt = new Date();
  const started = performance.now();
  const machine = describeMachine();
  if (settings.cpuProf) await mkdir(PROFILES_DIR, { recursive: true });
  log(`${settings.mode}: ${settings.rows.map((row) => row.id).join(", ")} on ${settings.brokers.join(", ")}, ${settings.reps} rep(s), ${grouped(settings.items)} items; ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}`);
  const runs: RowRun[] = [];
  for (let rep = 1; rep <= settings.reps; rep++) {
    for (const kind of settings.brokers) {
      const broker = await startBroker(kind);
      try {
        // Rotate the order per repetition so that no row always runs first (or last) on a broker.
        const offset = (rep - 1) % settings.rows.length;
        const order = [...settings.rows.slice(offset), ...settings.rows.slice(0, offset)];
        for (const row of order) runs.push(await runRow(settings, row, broker, rep, log));
      } finally {
        await broker.stop();
      }
    }
  }
  const wallMs = performance.now() - started;
  const summaries = summarizeRows(settings, runs);
  const markdown = streamReport({ settings, machine, summaries, runs, startedAt, wallMs });
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(join(RESULTS_DIR, `${settings.outName}.md`), markdown);
  await writeFile(join(RESULTS_DIR, `${settings.outName}.json`), JSON.stringify({ startedAt: startedAt.toISOString(), wallMs, settings, machine, summaries, runs }, null, 2) + "\n");
  log(`wrote bench/results/${settings.outName}.md and .json in ${Math.round(wallMs / 1000)} s`);
  return { markdown, summaries, runs };
}
