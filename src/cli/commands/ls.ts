import { discover, type DiscoveredService } from "../../mqtt/discover.js";
import { createConsoleLogger } from "../../logger.js";
import { redactUrl } from "../../log/redact.js";
import type { MqttCommunicatorOptions } from "../../mqtt/mqtt-options.js";
import type { CliIo } from "../cli-io.js";
import { ExitCode } from "../exit-codes.js";
import { formatDuration, table } from "../format.js";

/** Where the broker is and how to reach it: what `ls`, `describe` and `stats` share. */
export interface BrokerArgs {
  url: string;
  connectTimeoutMs: number;
  connection: Partial<MqttCommunicatorOptions>;
  json: boolean;
}

/** The live instances of `prefix`, or of every prefix; an exit code when the broker cannot be reached. */
export async function findServices(args: BrokerArgs, io: CliIo, prefix?: string): Promise<DiscoveredService[] | ExitCode> {
  try {
    return await discover({
      connection: { ...args.connection, url: args.url, connectTimeoutMs: args.connectTimeoutMs },
      ...(prefix === undefined ? {} : { prefix }),
      logger: createConsoleLogger("mqtt-contracts", "error"),
    });
  } catch (error) {
    io.err(`mqtt-contracts: cannot read the services on ${redactUrl(args.url)}: ${(error as Error).message}`);
    return ExitCode.Unavailable;
  }
}

function routingText(service: DiscoveredService): string {
  const groups = [...new Set(service.instances.map((record) => (record.group === null ? "no group" : `group ${record.group} (${record.routing === "shared" ? "$share" : "instance topics"})`)))];
  return groups.join(", ");
}

/** The streaming methods by name: three of them, then how many more. */
function streamingText(streams: string[]): string {
  if (streams.length === 0) return "-";
  return streams.length <= 3 ? streams.join(",") : `${streams.slice(0, 3).join(",")},+${streams.length - 3}`;
}

/** `mqtt-contracts ls`: the services on a broker, with their method counts and live instances. */
export async function lsCommand(args: BrokerArgs, io: CliIo): Promise<ExitCode> {
  const services = await findServices(args, io);
  if (typeof services === "number") return services;
  if (args.json) {
    io.out(JSON.stringify(services, null, 2));
    return ExitCode.Ok;
  }
  if (services.length === 0) {
    io.out(`No mqtt-contracts services on ${redactUrl(args.url)}.`);
    return ExitCode.Ok;
  }
  const now = Date.now();
  const rows: string[][] = [["PREFIX", "AGENT", "METHODS", "STREAMING", "NOTIFICATIONS", "INSTANCES", "ROUTING"]];
  for (const service of services) {
    const methods = String(service.methods.length + service.handlers.length);
    rows.push([service.prefix, service.agents.join(","), methods, streamingText(service.streams), String(service.notifications.length), String(service.instances.length), routingText(service)]);
  }
  io.out(table(rows));
  io.out("");
  const instances: string[][] = [["PREFIX", "INSTANCE", "UPTIME", "PROTOCOL", "LIBRARY", "OPENMAS FORMAT"]];
  for (const service of services) {
    for (const record of service.instances) {
      instances.push([service.prefix, record.instance, formatDuration(now - record.startedAt), `MQTT ${record.protocol}`, record.library, record.openmas ?? "-"]);
    }
  }
  io.out(table(instances));
  return ExitCode.Ok;
}
