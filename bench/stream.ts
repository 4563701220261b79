/**
 * `npm run bench:stream [-- --quick] [--reps N] [--brokers aedes,mosquitto] [--items N] [--slow-rate N] [--rows a,b] [--cpu-prof]`
 *
 * The streaming rows of `npm run bench` on their own (bench/lib/stream-bench.ts says what they measure).
 * Writes bench/results/<stream|stream-quick>[-partial].{md,json} and prints the Markdown.
 */
import { parseArgs } from "node:util";
import { buildBenchProcesses } from "./lib/build.js";
import { stopLive } from "./lib/live.js";
import { ROWS, runStreamBench, streamSettings } from "./lib/stream-bench.js";
import type { StreamSettings } from "./lib/stream-report.js";

const USAGE = `usage: npm run bench:stream -- [--quick] [--reps N] [--brokers aedes,mosquitto] [--items N] [--slow-rate N] [--rows a,b] [--cpu-prof]
  --quick        1 repetition, 20 000 items, a 2 s slow stream: about a minute
  --reps N       repetitions (default 3); the report shows medians and same-run ratios to the floor
  --items N      items of the measured stream and of the slow one (default 100 000)
  --slow-rate N  items/s the slow consumer reads (default 4 000: 25 s for 100 000 items)
  --rows a,b     only these rows, by index from 0: ${ROWS.map((row, i) => `${i} ${row.id}`).join(", ")}
  --cpu-prof     write CPU profiles of every server and client to bench/results/profiles/`;

function parseSettings(argv: readonly string[]): StreamSettings {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: "boolean", default: false },
      reps: { type: "string" },
      brokers: { type: "string" },
      items: { type: "string" },
      "slow-rate": { type: "string" },
      rows: { type: "string" },
      "cpu-prof": { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const int = (flag: string, value: string | undefined) => {
    if (value === undefined) return undefined;
    const parsed = Number(value);
    if (!(Number.isInteger(parsed) && parsed >= 1)) throw new Error(`--${flag} must be a positive integer, got ${value}\n${USAGE}`);
    return parsed;
  };
  const brokers = values.brokers?.split(",").map((broker) => broker.trim());
  if (brokers?.some((broker) => broker !== "aedes" && broker !== "mosquitto")) throw new Error(`--brokers: aedes, mosquitto\n${USAGE}`);
  const rows = values.rows?.split(",").map(Number);
  if (rows?.some((index) => ROWS[index] === undefined)) throw new Error(`--rows: indexes 0 to ${ROWS.length - 1}\n${USAGE}`);
  return streamSettings({
    quick: values.quick,
    reps: int("reps", values.reps),
    brokers: brokers as StreamSettings["brokers"] | undefined,
    rows,
    items: int("items", values.items),
    slowRatePerSec: int("slow-rate", values["slow-rate"]),
    cpuProf: values["cpu-prof"],
    partial: brokers !== undefined || rows !== undefined,
  });
}

const log = (message: string) => console.error(`[bench:stream] ${message}`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping`);
    void stopLive().finally(() => process.exit(130));
  });
}
try {
  const settings = parseSettings(process.argv.slice(2));
  log("compiling the benchmark processes (tsc -p tsconfig.bench.json)...");
  buildBenchProcesses();
  console.log((await runStreamBench(settings, log)).markdown);
} catch (error) {
  console.error(`[bench:stream] ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  await stopLive();
}
