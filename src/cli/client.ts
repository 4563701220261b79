import { ConfigurationError } from "../errors/errors.js";
import { createConsoleLogger, type LogLevel } from "../logger.js";
import { redactUrl } from "../log/redact.js";
import { MqttCommunicator } from "../mqtt/mqtt-communicator.js";
import type { MqttCommunicatorOptions } from "../mqtt/mqtt-options.js";
import type { Params } from "../wire/values.js";
import { nameProblem, prefixProblem } from "../wire/names.js";
import { levelProblem } from "../wire/openmas/topics.js";
import type { CliIo } from "./cli-io.js";
import { ExitCode } from "./exit-codes.js";
import { UsageError } from "./usage.js";

/** The agent name of the CLI's own communicator; its client id gets a random suffix. */
export const CLI_AGENT_NAME = "mqtt-contracts-cli";
/** The `serviceUrls` key the topic prefix given on the command line is registered under. */
export const TARGET = "target";
export const DEFAULT_URL = "mqtt://localhost:1883";

const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error", "silent"];
const URL_PROTOCOLS = ["mqtt:", "mqtts:", "ws:", "wss:"];

/** What `call` and `notify` share: where the service is and how to reach the broker. */
export interface ClientArgs {
  /** The service's topic prefix; with the OpenMAS format, the target agent's name. */
  prefix: string;
  /** `openmas`: call in OpenMAS's built-in MQTT format. Default `jsonrpc`. */
  wireFormat?: "jsonrpc" | "openmas" | undefined;
  /** The OpenMAS format's `<root>` (default `openmas`). */
  openmasTopicPrefix?: string | undefined;
  method: string;
  params: Params;
  url: string;
  connectTimeoutMs: number;
  /** Credentials, TLS and protocol, as communicator options. */
  connection: Partial<MqttCommunicatorOptions>;
}

/** The `<topic-prefix>` and `<method>` arguments, checked before anything is connected. */
export function checkTarget(prefix: string, method: string): void {
  const prefixIssue = prefixProblem(prefix);
  if (prefixIssue !== undefined) throw new UsageError(`topic prefix ${JSON.stringify(prefix)} ${prefixIssue}`);
  const methodIssue = nameProblem(method);
  if (methodIssue !== undefined) throw new UsageError(`method ${JSON.stringify(method)} ${methodIssue}`);
}

/** With `--wire-format openmas`: `<agent name>` and `<method>` are each one topic level. */
export function checkAgentTarget(agent: string, method: string): void {
  const agentIssue = levelProblem(agent);
  if (agentIssue !== undefined) throw new UsageError(`agent name ${JSON.stringify(agent)} ${agentIssue}`);
  const methodIssue = levelProblem(method);
  if (methodIssue !== undefined) throw new UsageError(`method ${JSON.stringify(method)} ${methodIssue} (OpenMAS reads it from one topic level)`);
}

/** The `serviceUrls` key `args` are sent to: the agent's name in the OpenMAS format, which addresses services by name. */
export function serviceOf(args: Pick<ClientArgs, "prefix" | "wireFormat">): string {
  return args.wireFormat === "openmas" ? args.prefix : TARGET;
}

/** Where `args.method` is published, for messages. */
export function requestTopicOf(args: Pick<ClientArgs, "prefix" | "wireFormat" | "openmasTopicPrefix" | "method">): string {
  return args.wireFormat === "openmas" ? `${args.openmasTopicPrefix ?? "openmas"}/${args.prefix}/request/${args.method}` : `${args.prefix}/request/${args.method}`;
}

/** `<json params>` from the command line: a JSON object, or `{}` when absent. */
export function parseParams(text: string | undefined): Params {
  if (text === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`params are not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UsageError(`params must be a JSON object such as '{"message":"hi"}', got ${Array.isArray(value) ? "an array" : value === null ? "null" : typeof value}`);
  }
  return value as Params;
}

/** A whole number of milliseconds from a flag, within what `setTimeout` accepts. */
export function parseMilliseconds(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!(/^\d+$/.test(text) && value > 0 && value <= 2_147_483_647)) throw new UsageError(`--${flag} must be a positive whole number of milliseconds, got ${JSON.stringify(text)}`);
  return value;
}

/** `--url`, else `$MQTT_URL`, else the local default. */
export function resolveUrl(flag: string | undefined, io: CliIo): string {
  const url = flag ?? (io.env.MQTT_URL || DEFAULT_URL);
  if (!URL.canParse(url) || !URL_PROTOCOLS.includes(new URL(url).protocol)) {
    throw new UsageError(`the broker URL must start with mqtt://, mqtts://, ws:// or wss://, got ${redactUrl(JSON.stringify(url))}${flag === undefined ? " (from MQTT_URL)" : ""}`);
  }
  return url;
}

/** The runtime logs to stderr at `error` unless `MQTT_CONTRACTS_LOG_LEVEL` says otherwise: a CLI's stderr is for its own messages. */
function cliLogLevel(io: CliIo): LogLevel {
  const level = io.env.MQTT_CONTRACTS_LOG_LEVEL;
  return LOG_LEVELS.find((known) => known === level) ?? "error";
}

/**
 * Build the CLI's communicator for `args.prefix` and connect it. Returns an exit code instead when
 * that fails: `Unavailable` if the broker cannot be reached.
 */
export async function connectClient(args: ClientArgs, io: CliIo): Promise<MqttCommunicator | ExitCode> {
  let communicator: MqttCommunicator;
  try {
    communicator = new MqttCommunicator({
      agentName: CLI_AGENT_NAME,
      serviceUrls: { [serviceOf(args)]: args.prefix },
      // A CLI fails at once when nothing listens; an agent waits for its broker.
      options: {
        ...args.connection,
        url: args.url,
        connectTimeoutMs: args.connectTimeoutMs,
        waitForBroker: false,
        ...(args.wireFormat === "openmas" ? { serviceWireFormats: { [args.prefix]: "openmas" as const }, ...(args.openmasTopicPrefix === undefined ? {} : { openmasTopicPrefix: args.openmasTopicPrefix }) } : {}),
      },
      logger: createConsoleLogger("mqtt-contracts", cliLogLevel(io)),
    });
  } catch (error) {
    // A prefix with a wildcard, say: the user's input, not the network.
    if (error instanceof ConfigurationError) throw new UsageError(error.message);
    throw error;
  }
  try {
    await communicator.start();
  } catch (error) {
    io.err(`mqtt-contracts: cannot connect to the broker at ${communicator.broker}: ${(error as Error).message}`);
    return ExitCode.Unavailable;
  }
  return communicator;
}
