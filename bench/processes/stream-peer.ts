/**
 * One side of one system of the streaming bench: `node .bench-build/bench/processes/stream-peer.js <server|client> <system> '<target json>'`.
 * Started by bench/stream.ts, which drives it over IPC (`stream`, `firstItem`, `usage`, `stop`).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { serve } from "../lib/child-side.js";
import type { FirstItemResult, StreamResult } from "../lib/messages.js";
import { percentile } from "../lib/stats.js";
import type { BrokerTarget } from "../peers/peer.js";
import { streamSystem, type BenchItem, type StreamClient, type StreamServer, type StreamSystemId } from "../peers/streams.js";

const SYSTEMS: readonly StreamSystemId[] = ["floor", "mqtt-contracts", "mqtt-contracts-contract"];
const [role, systemId, targetJson] = process.argv.slice(2);
if ((role !== "server" && role !== "client") || !SYSTEMS.includes(systemId as StreamSystemId) || targetJson === undefined) {
  console.error(`usage: stream-peer.ts <server|client> <${SYSTEMS.join("|")}> '<target json>'`);
  process.exit(64);
}
const target = JSON.parse(targetJson) as BrokerTarget;
let peer: StreamServer | StreamClient | undefined;
let client: StreamClient | undefined;

const requireClient = (): StreamClient => {
  if (client === undefined) throw new Error("this is not a client process");
  return client;
};

const cpuUs = (): number => {
  const cpu = process.cpuUsage();
  return cpu.user + cpu.system;
};

/** One stream of `items`; with `ratePerSec` > 0 the consumer takes no item before its time (a slow reader). */
async function runStream(items: number, credit: number, ratePerSec: number, timeoutMs: number): Promise<StreamResult> {
  let received = 0;
  let outOfOrder = 0;
  let firstItemMs = Number.NaN;
  const cpuBefore = cpuUs();
  const started = performance.now();
  const onItem = (item: BenchItem): Promise<void> | undefined => {
    if (received === 0) firstItemMs = performance.now() - started;
    if (item.i !== received) outOfOrder++;
    received++;
    if (ratePerSec <= 0) return undefined;
    const due = started + (received / ratePerSec) * 1000;
    const ahead = due - performance.now();
    return ahead >= 1 ? sleep(ahead) : undefined;
  };
  await requireClient().stream(items, credit, onItem, timeoutMs);
  const elapsedMs = performance.now() - started;
  return { items, received, outOfOrder, elapsedMs, itemsPerSec: (received / elapsedMs) * 1000, firstItemMs, clientCpuUs: cpuUs() - cpuBefore };
}

async function firstItems(streams: number, items: number, credit: number, timeoutMs: number): Promise<FirstItemResult> {
  const samplesMs: number[] = [];
  for (let s = 0; s < streams; s++) {
    const result = await runStream(items, credit, 0, timeoutMs);
    if (result.received !== items) throw new Error(`stream ${s}: ${result.received} of ${items} items`);
    samplesMs.push(result.firstItemMs);
  }
  return { samplesMs, p50Ms: percentile([...samplesMs].sort((a, b) => a - b), 0.5) };
}

await serve(
  async () => {
    const system = streamSystem(systemId as StreamSystemId);
    if (role === "server") peer = await system.startServer(target);
    else peer = client = await system.startClient(target);
  },
  async () => {
    await peer?.close();
  },
  {
    stream: (command) => runStream(command.items, command.credit, command.ratePerSec, command.timeoutMs),
    firstItem: (command) => firstItems(command.streams, command.items, command.credit, command.timeoutMs),
  },
);
