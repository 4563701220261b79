/** The Markdown report: one table per broker, ratios against the hand-written baseline of the same run. */
import type { BrokerKind } from "../peers/peer.js";
import { BASELINE, findSystem } from "../peers/systems.js";
import { baselineDescription, isBaselineSystem, vsBaselineSection, type BuildInfo } from "./baseline.js";
import { grouped, ms, ratio, signed } from "./format.js";
import type { Machine } from "./machine.js";
import type { RunResult, Summary } from "./results.js";
import type { BenchSettings } from "./settings.js";

/** The level the ratios and CPU columns are taken at. */
export const HEADLINE_LEVEL = 64;

const BROKER_TITLES: Record<BrokerKind, string> = {
  aedes: "aedes (the embedded broker, `startBroker()` in its own process; MQTT 3.1.1)",
  mosquitto: "Mosquitto (started by the bench on a free port: `set_tcp_nodelay true`, `persistence false`; MQTT 5)",
  nats: "NATS, a 3-node cluster with JetStream and MQTT started by the bench; client and server on node 1 (MQTT 3.1.1; the broker CPU is node 1's)",
  "nats-cross": "NATS, the same 3-node cluster; client on node 1, server on node 2 (MQTT 3.1.1; the broker CPU is node 1's)",
};

const mib = (kib: number) => kib / 1024;

/** `12.3 (+1.0)`: a size in MiB and its difference from the baseline's, both given in KiB. */
function withDelta(kib: number, baselineKiB: number | undefined): string {
  if (!Number.isFinite(kib)) return "–";
  return `${mib(kib).toFixed(1)}${baselineKiB === undefined ? "" : ` (${signed(mib(kib - baselineKiB))})`}`;
}

function brokerTable(broker: BrokerKind, settings: BenchSettings, summaries: readonly Summary[]): string[] {
  const rows = summaries.filter((summary) => summary.broker === broker);
  const baseline = rows.find((summary) => summary.system === BASELINE && summary.okReps > 0);
  const levels = settings.levels;
  const header = [
    "system",
    "p50 ms",
    "p99 ms",
    ...levels.map((level) => `calls/s @${level}`),
    `@${HEADLINE_LEVEL} vs baseline`,
    "p50 vs baseline",
    `client RSS @${HEADLINE_LEVEL} MiB (Δ)`,
    "client peak RSS MiB (Δ)",
    "client live heap MiB (Δ)",
    `client promoted B/call @${HEADLINE_LEVEL}`,
    "server RSS MiB",
    `CPU µs/call @${HEADLINE_LEVEL} client + server + broker`,
    "lost / failed",
  ];
  const lines = [`| ${header.join(" | ")} |`, `|${header.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`];
  for (const row of rows) {
    const name = row.system === BASELINE ? `${row.system} (baseline)` : row.system;
    if (row.okReps === 0) {
      const error = (row.errors[0] ?? "failed").replace(/^rep \d+: /, "").split("\n")[0]!.replace(/\|/g, "\\|");
      lines.push(`| ${name} | failed: ${error} |${" |".repeat(header.length - 2)}`);
      continue;
    }
    const at = row.callsPerSec[HEADLINE_LEVEL] ?? Number.NaN;
    const partial = row.okReps < row.reps ? ` (${row.okReps}/${row.reps} reps)` : "";
    const cells = [
      `${name}${partial}`,
      `${ms(row.p50Ms)}${row.latencyCalls < settings.latencyCalls ? ` (n=${row.latencyCalls})` : ""}`,
      ms(row.p99Ms),
      ...levels.map((level) => grouped(row.callsPerSec[level] ?? Number.NaN)),
      baseline ? ratio(at / (baseline.callsPerSec[HEADLINE_LEVEL] ?? Number.NaN)) : "–",
      baseline ? ratio(row.p50Ms / baseline.p50Ms) : "–",
      withDelta(row.clientLevelRssKiB[HEADLINE_LEVEL] ?? Number.NaN, baseline?.clientLevelRssKiB[HEADLINE_LEVEL]),
      withDelta(row.clientMaxRssKiB, baseline?.clientMaxRssKiB),
      withDelta(row.clientLiveHeapKiB, baseline?.clientLiveHeapKiB),
      grouped(row.clientPromotedBytesPerCall[HEADLINE_LEVEL] ?? Number.NaN),
      mib(row.serverMaxRssKiB).toFixed(1),
      [row.clientCpuUsPerCall, row.serverCpuUsPerCall, row.brokerCpuUsPerCall].map((cpu) => grouped(cpu[HEADLINE_LEVEL] ?? Number.NaN)).join(" + "),
      `${row.lost} / ${row.failed}`,
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines;
}

/** The levels above the headline one, for the method text: "256". */
function levelsAbove(levels: readonly number[]): string {
  return levels.filter((level) => level > HEADLINE_LEVEL).join(", ") || String(HEADLINE_LEVEL);
}

export interface ReportInput {
  settings: BenchSettings;
  machine: Machine;
  summaries: readonly Summary[];
  runs: readonly RunResult[];
  /** With `--baseline`: what the two runtimes were built from. */
  builds?: { current: BuildInfo; baseline: BuildInfo } | undefined;
  startedAt: Date;
  wallMs: number;
  /** File names of the charts, by broker. */
  charts: Partial<Record<BrokerKind, string>>;
}

export function markdownReport({ settings, machine, summaries, runs, builds, startedAt, wallMs, charts }: ReportInput): string {
  const command = `npm run bench${settings.mode === "quick" ? " -- --quick" : ""}`;
  const picked = settings.systems.filter((id) => !isBaselineSystem(id));
  const filters = [
    picked.length < 6 ? `--systems ${picked.join(",")}` : "",
    settings.brokers.length < 2 ? `--brokers ${settings.brokers.join(",")}` : "",
    settings.baseline !== undefined ? `--baseline ${settings.baseline}` : "",
  ].filter(Boolean);
  const p = machine.packages;
  const out: string[] = [
    `# Echo RPC over MQTT: mqtt-contracts and the alternatives`,
    ``,
    `\`${command}\`${filters.length ? ` (${filters.join(" ")})` : ""}, ${startedAt.toISOString().slice(0, 16).replace("T", " ")} UTC, ${Math.round(wallMs / 1000)} s in all. ` +
      `${settings.reps === 1 ? "One repetition" : `Medians of ${settings.reps} repetitions`}; lost and failed calls are totals over them.`,
    ``,
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}. ` +
      `Mosquitto ${machine.mosquitto}, aedes ${p.aedes}, mqtt.js ${p.mqtt}, zod ${p.zod}, moleculer ${p.moleculer}, @nestjs/microservices ${p["@nestjs/microservices"]} (core ${p["@nestjs/core"]}), rxjs ${p.rxjs}.`,
    ``,
    `Workload: echo of a ~100-byte params object (\`{"message":"<86 × x>"}\`). The broker, the server and the client each run in a process of their own ` +
      `(compiled with tsc and run on plain \`node\`); every system connects to the same broker through TCP on 127.0.0.1. ` +
      `Per repetition and system: warm-up (until a call succeeds, then up to ${grouped(settings.warmupCalls)} calls or ${settings.warmupMaxMs / 1000} s), ` +
      `sequential latency (${grouped(settings.latencyCalls)} calls, or as many as fit in ${settings.latencyMaxMs / 1000} s), ` +
      `then closed-loop throughput at ${settings.levels.join(", ")} calls in flight for ${settings.levelMs / 1000} s each, counting only calls answered within the period. ` +
      `A call is lost when it has no answer after ${settings.timeoutMs / 1000} s (each system's own timeout), failed when it rejects or returns the wrong message. ` +
      `"Client RSS @${HEADLINE_LEVEL}" is the client's peak RSS during the @${HEADLINE_LEVEL} period (the peak is reset to the current RSS at its start by writing 5 to \`/proc/self/clear_refs\`, then read from \`process.resourceUsage().maxRSS\`), where the targets are set; the other RSS figures are the peak of the whole client or server process, over every phase including @${levelsAbove(settings.levels)} (an idle \`node\` child peaks at ${(machine.idleChildRssKiB / 1024).toFixed(0)} MiB here); the client's live heap is \`v8.getHeapStatistics().used_heap_size\` after full garbage collections at the end of the run (the client runs with \`--expose-gc\` for it), what the process keeps alive; "promoted" is what the client's young-generation collections moved to the old generation during the @${HEADLINE_LEVEL} period (\`v8.GCProfiler\`), per answered call. The peak follows both: V8 sets the next full collection at the live heap times a growing factor of up to 4, and the factor is higher the faster the old generation fills (its ratio of marking speed to promotion rate); CPU is \`process.cpuUsage()\` of the client and the server over the @${HEADLINE_LEVEL} period, and the broker process's user + system time from \`/proc/<pid>/stat\` over the same period (to the kernel's clock tick), each divided by the calls answered in it. All three share the machine's ${machine.cores} cores.`,
    ``,
  ];
  if (builds !== undefined) {
    out.push(...vsBaselineSection({ systems: settings.systems, brokers: settings.brokers, levels: settings.levels, reps: settings.reps, runs, ...builds }));
  }
  for (const broker of settings.brokers) {
    out.push(`## ${BROKER_TITLES[broker]}`, ``, ...brokerTable(broker, settings, summaries), ``);
    const chart = charts[broker];
    if (chart) out.push(`![Throughput against calls in flight on ${broker}](${chart})`, ``);
  }
  const nagle = settings.stockSockets
    ? `This run used \`--stock-sockets\`: Moleculer's and NestJS's sockets keep Nagle's algorithm on, as they ship; mqtt-contracts and the baseline turn it off.`
    : `Nagle's algorithm is off on every MQTT socket (TCP_NODELAY): mqtt-contracts turns it off by itself, the baseline does the same, and the bench does it for Moleculer and NestJS from outside (neither offers an option). Run with \`--stock-sockets\` to leave their sockets as shipped: a reply written a few ticks after the request's PUBACK then waits for the broker's delayed ACK, ~40 ms per leg.`;
  out.push(
    `## Systems`,
    ``,
    `Every system uses QoS 1 and the protocol version \`protocolVersion: "auto"\` gives mqtt-contracts on that broker (MQTT 5 on Mosquitto, 3.1.1 on aedes), ` +
      `wherever the system lets one choose; exceptions are noted. ${nagle}`,
    ``,
    ...settings.systems.map((id) => `- **${id}**: ${isBaselineSystem(id) ? baselineDescription(id, builds?.baseline) : findSystem(id).description}.`),
    ``,
    `Configuration:`,
    ``,
    ...configurationNotes(settings.systems),
    ``,
  );
  const failures = summaries.filter((summary) => summary.errors.length > 0);
  if (failures.length > 0) {
    out.push(`## Failures`, ``);
    for (const summary of failures) {
      for (const error of summary.errors) out.push(`- ${summary.broker} · ${summary.system} · ${error.split("\n").join(" ")}`);
    }
    out.push(``);
  }
  return out.join("\n");
}

/** How each system is set up, for the systems in the run. */
function configurationNotes(systems: readonly string[]): string[] {
  const has = (id: string) => systems.includes(id);
  const notes: string[] = [];
  if (has("handwritten")) {
    notes.push(
      `- handwritten: one mqtt.js client per side; the client subscribes its response topic once at start, keeps a \`Map\` of pending ids with a timer each, and puts the reply topic in the JSON payload (the same on both protocol versions). TCP_NODELAY on both sockets. No validation.`,
    );
  }
  if (has("handwritten-zod")) {
    notes.push(
      `- handwritten-zod: the baseline's code, plus \`z.object({ message: z.string() })\` checked with \`safeParse\` on the params (server) and on the result (client). Zod is imported only in this variant's processes. It is a reference for what Zod costs by itself, in memory above all: importing \`zod\` is most of what mqtt-contracts adds to a client's heap.`,
    );
  }
  if (has("handwritten-expiry")) {
    notes.push(
      `- handwritten-expiry: the baseline's code, plus \`properties: { messageExpiryInterval }\` (the timeout in whole seconds) on each request when the broker speaks MQTT 5. It is a reference for what that one property costs in mqtt.js and the broker; mqtt-contracts sends it by default (\`requestExpiry\`).`,
    );
  }
  if (has("mqtt-contracts") || has("mqtt-contracts-batched") || has("mqtt-contracts-no-expiry")) {
    notes.push(
      `- mqtt-contracts: \`MqttCommunicator\` (\`protocolVersion: "auto"\`, QoS 1), \`registerBenchEchoService\` and \`BenchEchoServiceClient\` generated from \`contracts/bench-echo.ts\`; Zod validates params and results on both sides. On MQTT 5 each request also carries the Message Expiry Interval property (the caller's deadline), and no other: the payload's \`response_topic\` names the response topic and the JSON-RPC id correlates.`,
    );
  }
  if (has("mqtt-contracts-batched")) {
    notes.push(
      `- mqtt-contracts-batched: the same, plus the communicator option \`batching: { bench_echo: { maxBatchSize: 64 } }\` on the client: calls issued in the same event-loop turn go out as one JSON-RPC batch, and the server answers a batch with one array. Reported as failed if the runtime refuses the option.`,
    );
  }
  if (has("mqtt-contracts-no-expiry")) {
    notes.push(
      `- mqtt-contracts-no-expiry: the same as mqtt-contracts, plus the communicator option \`requestExpiry: false\` on the client: requests carry no MQTT 5 property at all, so handlers see no caller deadline. On aedes (MQTT 3.1.1, no properties) it is the same configuration as mqtt-contracts, which shows the run-to-run noise.`,
    );
  }
  if (has("mqtt-contracts-no-dedup")) {
    notes.push(
      `- mqtt-contracts-no-dedup: the same as mqtt-contracts, plus the communicator option \`dedup: false\` on the server: no cache of the requests it took in the last minute, so a redelivered duplicate would run again. The difference from mqtt-contracts is what at-most-once execution costs.`,
    );
  }
  if (has("mqtt-contracts-openmas")) {
    notes.push(
      `- mqtt-contracts-openmas: the same as mqtt-contracts, in OpenMAS's built-in MQTT format: requests to \`openmas/bench_echo/request/echo\` with \`source\`, \`target\` and \`timestamp\`, answers to \`openmas/bench_client/response/<id>\`. The difference from mqtt-contracts is what the format costs.`,
    );
  }
  if (has("moleculer")) {
    notes.push(
      `- moleculer: two \`ServiceBroker\`s (namespace \`bench\`), transporter \`{ type: "MQTT", options: { host, port, protocolVersion, qos: 1 } }\`, JSON serializer, default balancer and discovery; the action declares \`params: { message: "string" }\`, so the server validates (fastest-validator). The client is ready once \`waitForServices\` sees the server.`,
    );
  }
  if (has("nestjs") || has("nestjs-pinned")) {
    notes.push(
      `- NestJS: \`NestFactory.createMicroservice\` with \`Transport.MQTT\` and \`subscribeOptions: { qos: 1 }\`; the client sends each request as an \`MqttRecord\` with QoS 1. ` +
        `Replies travel at QoS 0 whatever one does: the server takes publish options from \`response.data\` when it is an \`MqttRecord\`, but a handler's return value lands in \`response.response\` (returning a record just serializes it into the reply). No validation (no pipes).`,
    );
  }
  if (has("nestjs")) {
    notes.push(
      `  - nestjs (the shipped \`ClientMqtt\`): it counts calls in flight per reply topic, subscribes \`bench_echo/reply\` (QoS 0, not configurable) when a call starts at count 0, publishes only after the SUBACK, and unsubscribes when the count returns to 0. ` +
        `A sequential caller pays a SUBSCRIBE/SUBACK round trip plus an UNSUBSCRIBE per call. Two ways it loses replies: ` +
        `(1) aedes does not apply an UNSUBSCRIBE and a following SUBSCRIBE of the same topic in order: the SUBACK comes back and the pending unsubscribe then removes the new subscription ` +
        `(measured with bare mqtt.js: 25 of 50 UNSUBSCRIBE+SUBSCRIBE pairs lost the next message on aedes, 0 of 50 on Mosquitto), so sequential calls on aedes time out again and again; ` +
        `(2) the count only goes up at SUBACK, so calls that start together each send a SUBSCRIBE; when the first one is answered before the others' SUBACKs arrive, the count drops to 0 and Nest unsubscribes after those SUBSCRIBEs, ` +
        `and every call in flight then waits for its timeout (whole levels lost at once, on either broker).`,
    );
  }
  if (has("nestjs-pinned")) {
    notes.push(
      `  - nestjs-pinned: a \`ClientMqtt\` subclass (\`PinnedClientMqtt\` in \`bench/peers/nestjs.ts\`) that, after \`connect()\`, subscribes \`bench_echo/reply\` once with QoS 1 and adds one to Nest's own \`subscriptionsCount\` for it. The count never returns to 0, so Nest never subscribes or unsubscribes again; the request path is Nest's own, unchanged.`,
    );
  }
  return notes;
}
