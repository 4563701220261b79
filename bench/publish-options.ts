/**
 * `npm run bench:publish-options`: what a `properties` key in mqtt.js's publish options costs a
 * client in promotion to V8's old generation (which sets how far the heap grows before a full
 * collection, and so peak RSS). Bare mqtt.js clients, 64 echo calls in flight against the
 * hand-written server on a Mosquitto started here, each variant in a fresh process, the variants
 * taking turns. Prints a Markdown table.
 *
 * Found while chasing mqtt-contracts's client RSS (two runs here: `{ qos: 1 }` promoted 1 B/call in
 * every round; with any `properties` key, even an undefined one, 121–122 in every round). A copy
 * of mqtt.js 5.16's `publish` that reads its options field by field instead of
 * `{ ...defaultOpts, ...opts }` promoted 1 B/call with the property (a scratch probe, one run per
 * variant), so the spread is what sets it off: on Node 20 (V8 11.3) a spread copy has a hidden class of
 * its own, and adding a key to it makes a new hidden class per call (see the README's performance
 * notes; Node 22's V8 no longer does). The fix belongs in mqtt.js.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { startMosquitto } from "../test/helpers/mosquitto.js";
import { buildBenchProcesses, compiledProcess } from "./lib/build.js";
import { BenchChild, repoRoot } from "./lib/child.js";
import { grouped } from "./lib/format.js";
import { median } from "./lib/stats.js";
import type { BrokerTarget } from "./peers/peer.js";

const VARIANTS = ["plain", "undefined properties", "expiry property"] as const;
const ROUNDS = 3;
const run = promisify(execFile);

interface Measured {
  variant: string;
  callsPerSec: number;
  promotedBytesPerCall: number;
  p50Ms: number;
}

buildBenchProcesses();
const mosquitto = await startMosquitto();
const target: BrokerTarget = { broker: "mosquitto", url: mosquitto.url, host: "127.0.0.1", port: mosquitto.port, protocolVersion: 5, qos: 1, tcpNoDelay: true };
let server: BenchChild | undefined;
try {
  server = await BenchChild.start("handwritten server", compiledProcess("peer.ts"), ["server", "handwritten", JSON.stringify(target)], { readyTimeoutMs: 30_000 });
  const results: Measured[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    for (const variant of VARIANTS) {
      const { stdout } = await run(process.execPath, [compiledProcess("publish-options-client.ts"), mosquitto.url, variant], { cwd: repoRoot, timeout: 60_000 });
      const measured = JSON.parse(stdout.trim().split("\n").at(-1)!) as Measured;
      results.push(measured);
      console.error(`[publish-options] round ${round}/${ROUNDS} · ${variant}: ${grouped(measured.callsPerSec)} calls/s, ${grouped(measured.promotedBytesPerCall)} B/call promoted, sequential p50 ${grouped(measured.p50Ms * 1000)} µs`);
    }
  }
  const rows = VARIANTS.map((variant) => {
    const mine = results.filter((result) => result.variant === variant);
    const promoted = mine.map((result) => grouped(result.promotedBytesPerCall)).join(", ");
    return `| ${variant} | ${grouped(median(mine.map((result) => result.callsPerSec)))} | ${promoted} | ${grouped(median(mine.map((result) => result.p50Ms)) * 1000)} |`;
  });
  console.log(["| publish options | calls/s @64 (median) | promoted B/call @64, each round | sequential p50 µs (median) |", "|---|---:|---:|---:|", ...rows].join("\n"));
} finally {
  await server?.stop(10_000).catch(() => undefined);
  await mosquitto.close();
}
