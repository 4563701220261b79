/**
 * One side of one system: `node --import tsx bench/processes/peer.ts <server|client> <system> '<target json>'`.
 * Started by bench/run.ts, which drives it over IPC.
 */
import { fileURLToPath } from "node:url";
import { serve } from "../lib/child-side.js";
import { latency, throughput, warmup } from "../lib/workload.js";
import type { BrokerTarget, EchoClient, EchoServer } from "../peers/peer.js";
import { findSystem } from "../peers/systems.js";

const [role, systemId, targetJson] = process.argv.slice(2);
if ((role !== "server" && role !== "client") || systemId === undefined || targetJson === undefined) {
  console.error("usage: peer.ts <server|client> <system> '<target json>'");
  process.exit(64);
}
const target = JSON.parse(targetJson) as BrokerTarget;
let peer: EchoServer | EchoClient | undefined;
let client: EchoClient | undefined;

const requireClient = (): EchoClient => {
  if (client === undefined) throw new Error("this is not a client process");
  return client;
};

await serve(
  async () => {
    const system = await findSystem(systemId).load();
    if (role === "server") peer = await system.startServer(target);
    else peer = client = await system.startClient(target);
    // Which runtime this build's `import "mqtt-contracts"` loads: .bench-build/ or, for a baseline: system, .bench-build/baseline/.
    return { runtime: fileURLToPath(import.meta.resolve("mqtt-contracts")) };
  },
  async () => {
    await peer?.close();
  },
  {
    warmup: (command) => warmup(requireClient(), command.firstCallMaxMs, command.calls, command.maxMs, command.timeoutMs),
    latency: (command) => latency(requireClient(), command.calls, command.maxMs, command.timeoutMs),
    throughput: (command) => throughput(requireClient(), command.inFlight, command.durationMs, command.timeoutMs),
  },
);
