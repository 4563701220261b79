import { instanceTopic } from "../../instances/record.js";
import type { StatsSnapshot } from "../../instances/stats.js";
import type { CliIo } from "../cli-io.js";
import { ExitCode } from "../exit-codes.js";
import { formatDuration, table } from "../format.js";
import { findServices } from "./ls.js";
import { callCommandFor, type ServiceArgs } from "./service-call.js";

/** `mqtt-contracts stats <prefix>`: per instance and method, calls, errors and latency (like NATS micro STATS). */
export async function statsCommand(args: ServiceArgs, io: CliIo): Promise<ExitCode> {
  const services = await findServices(args, io, args.prefix);
  if (typeof services === "number") return services;
  const instances = services[0]?.instances ?? [];
  if (instances.length === 0) {
    io.err(`mqtt-contracts: no live instance of ${args.prefix} has a discovery record; mqtt-contracts ls lists the services`);
    return ExitCode.Unavailable;
  }
  const snapshots: StatsSnapshot[] = [];
  for (const record of instances) {
    // Each instance answers on its own topic, P/instance/<id>/request.
    const snapshot = await callCommandFor<StatsSnapshot>(args, io, "rpc.stats", instanceTopic(args.prefix, record.instance));
    if (typeof snapshot === "number") return snapshot;
    snapshots.push(snapshot);
  }
  if (args.json) {
    io.out(JSON.stringify(snapshots, null, 2));
    return ExitCode.Ok;
  }
  const now = Date.now();
  const rows: string[][] = [["INSTANCE", "UPTIME", "METHOD", "CALLS", "ERRORS", "AVG MS", "P50 MS", "P99 MS"]];
  for (const snapshot of snapshots) {
    const methods = Object.entries(snapshot.methods);
    if (methods.length === 0) rows.push([snapshot.instance, formatDuration(now - snapshot.startedAt), "-", "0", "0", "-", "-", "-"]);
    for (const [method, stats] of methods) {
      rows.push([snapshot.instance, formatDuration(now - snapshot.startedAt), method, String(stats.calls), String(stats.errors), String(stats.averageMs), String(stats.p50Ms), String(stats.p99Ms)]);
    }
  }
  io.out(table(rows));
  return ExitCode.Ok;
}
