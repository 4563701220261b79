/** Command-line flags and the settings they select. */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import type { BrokerKind } from "../peers/peer.js";
import { SYSTEMS } from "../peers/systems.js";
import { withBaselines } from "./baseline.js";

export interface BenchSettings {
  mode: "full" | "quick";
  reps: number;
  /** Ids from SYSTEMS, and with `baseline` a `baseline:<id>` after each mqtt-contracts one. */
  systems: string[];
  /** `--baseline <dir>`: a checkout whose runtime the `baseline:` systems run (absolute). */
  baseline?: string;
  brokers: BrokerKind[];
  cpuProf: boolean;
  /** Leave Nagle on where Moleculer and NestJS leave it on (`--stock-sockets`). */
  stockSockets: boolean;
  /** In-flight levels of the throughput phase. */
  levels: number[];
  /** Length of each throughput level, ms. */
  levelMs: number;
  /** How long the warm-up waits for the first successful call. */
  firstCallMaxMs: number;
  warmupCalls: number;
  warmupMaxMs: number;
  /** Sequential calls of the latency phase; it also stops after `latencyMaxMs`. */
  latencyCalls: number;
  latencyMaxMs: number;
  /** Per-call timeout: a call that takes longer is lost. */
  timeoutMs: number;
  /** Also run the streaming rows (bench/lib/stream-bench.ts) after the echo rows, on aedes and Mosquitto. */
  streams: boolean;
  /** Results go to `bench/results/<outName>.md`, `.json` and `<outName>-throughput-<broker>.svg`. */
  outName: string;
}

/** Every broker the bench can run on, in report order; a run without --brokers uses the first two. */
const ALL_BROKERS: BrokerKind[] = ["aedes", "mosquitto", "nats", "nats-cross"];
const DEFAULT_BROKERS: BrokerKind[] = ["aedes", "mosquitto"];

const USAGE = `usage: npm run bench -- [--quick] [--reps N] [--systems a,b] [--brokers aedes,mosquitto] [--baseline DIR] [--cpu-prof] [--stock-sockets] [--streams | --no-streams]
  --quick          1 repetition, short periods: under a minute for everything
  --reps N         repetitions (default 3, 1 with --quick); the report shows medians
  --systems a,b    only these: ${SYSTEMS.map((system) => system.id).join(", ")}
                   (with --systems or --brokers the report goes to latest-partial.*, not latest.*)
  --brokers a,b    only these: aedes, mosquitto (the default), nats (a 3-node NATS cluster started by the
                   bench, client and server on one node), nats-cross (the same, on two nodes)
  --baseline DIR   also run each selected mqtt-contracts system on the runtime of the checkout DIR (another
                   commit, e.g. from \`git worktree add /tmp/base main\`) as \`baseline:<id>\`, interleaved with
                   the others, and report current/baseline ratios; the report goes to <name>-baseline.*
  --cpu-prof       write CPU profiles of the mqtt-contracts clients and servers to bench/results/profiles/
  --stock-sockets  leave Nagle's algorithm on where Moleculer and NestJS leave it (by default the bench
                   turns it off on their sockets, as mqtt-contracts and the baseline do on their own)
  --streams        also run the streaming rows (\`npm run bench:stream\`) after the echo rows, on the
  --no-streams     selected brokers among aedes and Mosquitto: on by default, off with --systems or --baseline`;

function list<T extends string>(flag: string, value: string | undefined, known: readonly T[], defaults: readonly T[] = known): T[] {
  if (value === undefined) return [...defaults];
  const picked = value.split(",").map((item) => item.trim()).filter(Boolean);
  const unknown = picked.filter((item) => !known.includes(item as T));
  if (unknown.length > 0 || picked.length === 0) throw new Error(`--${flag}: unknown ${unknown.join(", ") || "(empty)"}; known: ${known.join(", ")}\n${USAGE}`);
  // Report order, whatever the order on the command line.
  return known.filter((item) => picked.includes(item));
}

export function parseSettings(argv: readonly string[]): BenchSettings {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        quick: { type: "boolean", default: false },
        reps: { type: "string" },
        systems: { type: "string" },
        brokers: { type: "string" },
        baseline: { type: "string" },
        "cpu-prof": { type: "boolean", default: false },
        "stock-sockets": { type: "boolean", default: false },
        streams: { type: "boolean" },
        "no-streams": { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
    }));
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const quick = values.quick;
  const reps = values.reps === undefined ? (quick ? 1 : 3) : Number(values.reps);
  if (!(Number.isInteger(reps) && reps >= 1)) throw new Error(`--reps must be a positive integer, got ${values.reps}`);
  const picked = list("systems", values.systems, SYSTEMS.map((system) => system.id));
  const baseline = values.baseline === undefined ? undefined : resolve(values.baseline);
  const systems = baseline === undefined ? picked : withBaselines(picked);
  const brokers = list("brokers", values.brokers, ALL_BROKERS, DEFAULT_BROKERS);
  const stockSockets = values["stock-sockets"];
  const streams = !values["no-streams"] && (values.streams ?? (values.systems === undefined && baseline === undefined)) && brokers.some((broker) => broker === "aedes" || broker === "mosquitto");
  const common = { reps, systems, ...(baseline === undefined ? {} : { baseline }), brokers, cpuProf: values["cpu-prof"], stockSockets, streams, levels: [1, 16, 64, 256] };
  // A run of some systems or brokers only must not replace the full report the README shows.
  const partial = values.systems !== undefined || values.brokers !== undefined;
  const suffix = `${partial ? "-partial" : ""}${stockSockets ? "-stock-sockets" : ""}${baseline === undefined ? "" : "-baseline"}`;
  // Full runs warm up with 5 000 calls (or 5 s): measured with the probe of sequential calls on
  // aedes, mqtt-contracts's p50 keeps falling until ~6 000 calls after start (its path has more
  // functions for V8 to optimize: Zod, the generated client, the RPC core), the baseline's settles
  // after ~2 000; with 1 000 calls of warm-up the latency phase measured part of that.
  return quick
    ? { ...common, mode: "quick", levelMs: 400, firstCallMaxMs: 5_000, warmupCalls: 100, warmupMaxMs: 300, latencyCalls: 300, latencyMaxMs: 700, timeoutMs: 1_000, outName: `quick${suffix}` }
    : { ...common, mode: "full", levelMs: 3_000, firstCallMaxMs: 20_000, warmupCalls: 5_000, warmupMaxMs: 5_000, latencyCalls: 3_000, latencyMaxMs: 10_000, timeoutMs: 5_000, outName: `latest${suffix}` };
}
