/** What the streaming bench (bench/stream.ts) measures, its medians and same-run ratios, and its Markdown report. */
import type { StreamSystemId } from "../peers/streams.js";
import { grouped, ms, ratio } from "./format.js";
import type { Machine } from "./machine.js";
import type { FirstItemResult, StreamResult } from "./messages.js";
import { median } from "./stats.js";

export interface StreamRow {
  id: string;
  system: StreamSystemId;
  /** The credit mqtt-contracts's caller grants (ignored by the floor). */
  credit: number;
  /** Also run the slow consumer, sampling the server's RSS. */
  slow: boolean;
  description: string;
}

export interface StreamSettings {
  mode: "full" | "quick";
  reps: number;
  brokers: ("aedes" | "mosquitto")[];
  rows: StreamRow[];
  /** Items of the measured stream. */
  items: number;
  warmupStreams: number;
  warmupItems: number;
  firstItemStreams: number;
  firstItemItems: number;
  slowItems: number;
  slowRatePerSec: number;
  timeoutMs: number;
  cpuProf: boolean;
  outName: string;
}

/** RSS samples during the slow stream, KiB. */
export interface RssTrace {
  atMs: number[];
  serverKiB: number[];
  brokerKiB: number[];
}

export type RowRun =
  | {
      row: string;
      broker: "aedes" | "mosquitto";
      rep: number;
      ok: true;
      /** The server's RSS once it was ready, KiB. */
      serverIdleRssKiB: number;
      firstItem: FirstItemResult;
      fast: StreamResult;
      serverCpuUs: number;
      brokerCpuUs: number;
      slow?: { result: StreamResult; rss: RssTrace };
    }
  | { row: string; broker: "aedes" | "mosquitto"; rep: number; ok: false; error: string };

type OkRun = Extract<RowRun, { ok: true }>;

export interface RowSummary {
  row: string;
  broker: "aedes" | "mosquitto";
  okReps: number;
  errors: string[];
  itemsPerSec: number;
  itemsPerSecByRep: number[];
  /** This row's items/s over the floor's, within each repetition: median, min, max. */
  vsFloor: { median: number; min: number; max: number };
  clientCpuUsPerItem: number;
  serverCpuUsPerItem: number;
  brokerCpuUsPerItem: number;
  firstItemP50Ms: number;
  /** This row's first-item p50 over the floor's, within each repetition (median). */
  firstItemVsFloor: number;
  slow?: { itemsPerSec: number; serverIdleMiB: number; serverStartMiB: number; serverMaxMiB: number; serverEndMiB: number; serverGrowthMiB: number; brokerGrowthMiB: number };
}

const MiB = 1024;
const finiteMax = (values: number[]) => Math.max(...values.filter(Number.isFinite));

export function summarizeRows(settings: StreamSettings, runs: readonly RowRun[]): RowSummary[] {
  const ok = runs.filter((run): run is OkRun => run.ok);
  return settings.brokers.flatMap((broker) =>
    settings.rows.map((row): RowSummary => {
      const mine = ok.filter((run) => run.row === row.id && run.broker === broker);
      const floorOf = (run: OkRun) => ok.find((other) => other.row === "floor" && other.broker === broker && other.rep === run.rep);
      const paired = (pick: (run: OkRun) => number) =>
        mine.flatMap((run) => {
          const floor = floorOf(run);
          return floor === undefined ? [] : [pick(run) / pick(floor)];
        });
      const vs = paired((run) => run.fast.itemsPerSec);
      const perItem = (pick: (run: OkRun) => number) => median(mine.map((run) => pick(run) / run.fast.received));
      const slowRuns = mine.filter((run) => run.slow !== undefined);
      const slowMedian = (pick: (run: OkRun, trace: RssTrace) => number) => median(slowRuns.map((run) => pick(run, run.slow!.rss)));
      return {
        row: row.id,
        broker,
        okReps: mine.length,
        errors: runs.filter((run) => !run.ok && run.row === row.id && run.broker === broker).map((run) => `rep ${run.rep}: ${(run as { error: string }).error.split("\n")[0]}`),
        itemsPerSec: median(mine.map((run) => run.fast.itemsPerSec)),
        itemsPerSecByRep: mine.map((run) => run.fast.itemsPerSec),
        vsFloor: { median: median(vs), min: vs.length ? Math.min(...vs) : Number.NaN, max: vs.length ? Math.max(...vs) : Number.NaN },
        clientCpuUsPerItem: perItem((run) => run.fast.clientCpuUs),
        serverCpuUsPerItem: perItem((run) => run.serverCpuUs),
        brokerCpuUsPerItem: perItem((run) => run.brokerCpuUs),
        firstItemP50Ms: median(mine.map((run) => run.firstItem.p50Ms)),
        firstItemVsFloor: median(paired((run) => run.firstItem.p50Ms)),
        ...(slowRuns.length === 0
          ? {}
          : {
              slow: {
                itemsPerSec: slowMedian((run) => run.slow!.result.itemsPerSec),
                serverIdleMiB: slowMedian((run) => run.serverIdleRssKiB / MiB),
                serverStartMiB: slowMedian((_, trace) => trace.serverKiB[0]! / MiB),
                serverMaxMiB: slowMedian((_, trace) => finiteMax(trace.serverKiB) / MiB),
                serverEndMiB: slowMedian((_, trace) => trace.serverKiB.at(-1)! / MiB),
                serverGrowthMiB: slowMedian((_, trace) => (finiteMax(trace.serverKiB) - trace.serverKiB[0]!) / MiB),
                brokerGrowthMiB: slowMedian((_, trace) => (finiteMax(trace.brokerKiB) - trace.brokerKiB[0]!) / MiB),
              },
            }),
      };
    }),
  );
}

const mib = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : "–");
const signedMib = (value: number) => (Number.isFinite(value) ? `${value >= 0 ? "+" : "−"}${Math.abs(value).toFixed(1)}` : "–");

function brokerTables(settings: StreamSettings, summaries: readonly RowSummary[], broker: "aedes" | "mosquitto"): string[] {
  const mine = summaries.filter((summary) => summary.broker === broker);
  const lines = [
    `**${broker === "aedes" ? "aedes** (the embedded broker, MQTT 3.1.1)" : "Mosquitto** (MQTT 5, `max_queued_messages 0`)"}`,
    "",
    `| row | items/s (median) | vs floor (median, range) | items/s each rep | CPU µs/item client + server + broker | first item p50 ms | first item vs floor |`,
    "|---|---:|---:|---:|---:|---:|---:|",
  ];
  for (const s of mine) {
    if (s.okReps === 0) {
      lines.push(`| ${s.row} | failed | | | | | |`);
      continue;
    }
    const range = s.row === "floor" ? "1.00×" : `${ratio(s.vsFloor.median)} (${ratio(s.vsFloor.min)}–${ratio(s.vsFloor.max)})`;
    const cpu = `${s.clientCpuUsPerItem.toFixed(1)} + ${s.serverCpuUsPerItem.toFixed(1)} + ${s.brokerCpuUsPerItem.toFixed(1)}`;
    lines.push(`| ${s.row} | ${grouped(s.itemsPerSec)} | ${range} | ${s.itemsPerSecByRep.map(grouped).join(", ")} | ${cpu} | ${ms(s.firstItemP50Ms)} | ${s.row === "floor" ? "1.00×" : ratio(s.firstItemVsFloor)} |`);
  }
  const slow = mine.filter((summary) => summary.slow !== undefined);
  if (slow.length > 0) {
    lines.push(
      "",
      `Slow consumer (${grouped(settings.slowItems)} items read at ${grouped(settings.slowRatePerSec)} items/s), the server's RSS sampled every 100 ms, MiB (medians):`,
      "",
      "| row | items/s read | server RSS idle | at start | max | at end | growth (max − start) | broker RSS growth |",
      "|---|---:|---:|---:|---:|---:|---:|---:|",
      ...slow.map(({ row, slow: s }) => `| ${row} | ${grouped(s!.itemsPerSec)} | ${mib(s!.serverIdleMiB)} | ${mib(s!.serverStartMiB)} | ${mib(s!.serverMaxMiB)} | ${mib(s!.serverEndMiB)} | ${signedMib(s!.serverGrowthMiB)} | ${signedMib(s!.brokerGrowthMiB)} |`),
    );
  }
  const errors = mine.flatMap((summary) => summary.errors.map((error) => `- ${summary.row}: ${error}`));
  if (errors.length > 0) lines.push("", "Failed repetitions:", "", ...errors);
  return [...lines, ""];
}

export function streamReport(input: { settings: StreamSettings; machine: Machine; summaries: readonly RowSummary[]; runs: readonly RowRun[]; startedAt: Date; wallMs: number }): string {
  const { settings, machine, summaries, startedAt, wallMs } = input;
  const command = `npm run bench:stream${settings.mode === "quick" ? " -- --quick" : ""}`;
  const versions = Object.entries(machine.packages)
    .filter(([name]) => ["mqtt", "aedes", "zod"].includes(name))
    .map(([name, version]) => `${name} ${version}`)
    .join(", ");
  return [
    `# Streams over MQTT (${command})`,
    "",
    `${startedAt.toISOString()}, ${settings.reps} repetition(s), medians; ${Math.round(wallMs / 1000)} s. ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}; Mosquitto ${machine.mosquitto}, ${versions}.`,
    "",
    `One stream of ${grouped(settings.items)} items of ~100 bytes (\`{ i, text }\`, 80 characters of text) from a server process to a client process, each row in fresh processes, the broker in a process of its own, QoS 1 throughout. Per row: ${settings.warmupStreams} warm-up streams of ${grouped(settings.warmupItems)} items; ${settings.firstItemStreams} fresh streams of ${settings.firstItemItems} items one after another, timing each one's first item from the moment it was asked for (p50); then the measured stream, from asking for it to its last item (for mqtt-contracts, to its result), with the CPU time of client, server and broker process over it; then, for rows with a slow consumer, another stream read at a fixed rate while the server's and the broker's RSS are sampled. Rows take turns in a rotating order; ratios to the floor are taken within each repetition on the same broker, then the median (and range) over repetitions. Only ratios within one run are comparable: absolute figures move ±15–25 % between runs on this shared machine.`,
    "",
    ...settings.brokers.flatMap((broker) => brokerTables(settings, summaries, broker)),
    "Rows:",
    "",
    ...settings.rows.map((row) => `- **${row.id}**: ${row.description}.`),
    "",
  ].join("\n");
}
