/**
 * The `mqtt-contracts` command line: `call`, `notify`, `ls`, `describe`, `stats`, `broker`, `codegen` and `init`. See `USAGE` for
 * flags and exit codes. Only this file's entry point touches `process.exit`.
 */
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { processIo, type CliIo } from "./cli-io.js";
import { checkAgentTarget, checkTarget, parseMilliseconds, parseParams, resolveUrl, type ClientArgs } from "./client.js";
import { connectionFlagOptions, connectionOptionsFromFlags } from "./connection-flags.js";
import { ConfigurationError } from "../errors/errors.js";
import { redactUrl } from "../log/redact.js";
import { brokerCommand } from "./commands/broker.js";
import { callCommand } from "./commands/call.js";
import { notifyCommand } from "./commands/notify.js";
import { describeCommand } from "./commands/describe.js";
import { lsCommand, type BrokerArgs } from "./commands/ls.js";
import type { ServiceArgs } from "./commands/service-call.js";
import { statsCommand } from "./commands/stats.js";
import { uiCommand } from "./commands/ui.js";
import { ExitCode } from "./exit-codes.js";
import { SHORT_USAGE, USAGE, UsageError } from "./usage.js";

const DEFAULT_CALL_TIMEOUT_MS = 10_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_BROKER_PORT = 1883;
const DEFAULT_UI_PORT = 7883;

const OPTIONS = {
  url: { type: "string" },
  timeout: { type: "string" },
  "idle-timeout": { type: "string" },
  "connect-timeout": { type: "string" },
  ...connectionFlagOptions,
  "wire-format": { type: "string" },
  "openmas-topic-prefix": { type: "string" },
  json: { type: "boolean" },
  redis: { type: "string" },
  host: { type: "string" },
  port: { type: "string" },
  "ws-port": { type: "string" },
  "ws-origin": { type: "string", multiple: true },
  "allow-remote": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>["values"];

/** The flags each command accepts, besides `--help`. */
const CONNECTION_FLAGS: readonly (keyof typeof OPTIONS)[] = ["url", "connect-timeout", ...(Object.keys(connectionFlagOptions) as (keyof typeof connectionFlagOptions)[])];
const FLAGS: Record<string, readonly (keyof typeof OPTIONS)[]> = {
  call: [...CONNECTION_FLAGS, "timeout", "idle-timeout", "wire-format", "openmas-topic-prefix"],
  notify: [...CONNECTION_FLAGS, "wire-format", "openmas-topic-prefix"],
  ls: [...CONNECTION_FLAGS, "json"],
  describe: [...CONNECTION_FLAGS, "timeout", "json"],
  stats: [...CONNECTION_FLAGS, "timeout", "json"],
  broker: ["host", "port", "ws-port", "ws-origin", "redis"],
  ui: ["url", "host", "port", "allow-remote"],
};

/** Run the CLI on `argv` (without `node` and the script) and return the exit code. Never rejects. */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`mqtt-contracts: ${error.message}\n`);
      io.err(SHORT_USAGE);
      return ExitCode.Usage;
    }
    io.err(`mqtt-contracts: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return ExitCode.Internal;
  }
}

/** Commands with flags of their own, loaded only when run: codegen brings ts-morph and TypeScript, which agents never need. */
const OWN_FLAG_COMMANDS: Record<string, () => Promise<(argv: readonly string[], io: CliIo) => Promise<number>>> = {
  codegen: async () => (await import("./commands/codegen.js")).codegenCommand,
  init: async () => (await import("./commands/init.js")).initCommand,
};

async function dispatch(argv: readonly string[], io: CliIo): Promise<number> {
  const ownFlags = argv[0] === undefined ? undefined : OWN_FLAG_COMMANDS[argv[0]];
  if (ownFlags) return (await ownFlags())(argv.slice(1), io);
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true }));
  } catch (error) {
    // node:util reports unknown flags and missing flag values as TypeErrors with ERR_PARSE_ARGS_* codes.
    throw new UsageError((error as Error).message);
  }
  const [command, ...rest] = positionals;
  if (values.help) {
    io.out(USAGE);
    return ExitCode.Ok;
  }
  if (command === undefined) throw new UsageError("no command given");
  const allowed = FLAGS[command];
  if (allowed === undefined) throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  const misplaced = Object.keys(values).filter((flag) => !allowed.includes(flag as keyof typeof OPTIONS));
  if (misplaced.length > 0) throw new UsageError(`${command} does not take ${misplaced.map((flag) => `--${flag}`).join(", ")}`);

  switch (command) {
    case "call": {
      const args = clientArgs(command, rest, values, io);
      if (values["idle-timeout"] !== undefined && args.wireFormat === "openmas") throw new UsageError("--idle-timeout is for streams, which --wire-format openmas does not have");
      const idleTimeoutMs = values["idle-timeout"] === undefined ? undefined : parseMilliseconds("idle-timeout", values["idle-timeout"], 0);
      return callCommand({ ...args, timeoutMs: parseMilliseconds("timeout", values.timeout, DEFAULT_CALL_TIMEOUT_MS), idleTimeoutMs }, io);
    }
    case "notify":
      return notifyCommand(clientArgs(command, rest, values, io), io);
    case "ls":
      if (rest.length > 0) throw new UsageError(`ls takes no arguments, got ${rest.map((arg) => JSON.stringify(arg)).join(" ")}`);
      return lsCommand(brokerArgs(values, io), io);
    case "describe": {
      const [prefix, method, ...extra] = rest;
      if (prefix === undefined || extra.length > 0) throw new UsageError("describe needs <topic-prefix> and takes at most a <method> after it");
      return describeCommand({ ...serviceArgs(prefix, values, io), method }, io);
    }
    case "stats": {
      const [prefix, ...extra] = rest;
      if (prefix === undefined || extra.length > 0) throw new UsageError("stats needs exactly one <topic-prefix>");
      return statsCommand(serviceArgs(prefix, values, io), io);
    }
    case "ui":
      if (rest.length > 0) throw new UsageError(`ui takes no arguments, got ${rest.map((arg) => JSON.stringify(arg)).join(" ")}`);
      return uiCommand({ host: values.host ?? "127.0.0.1", port: values.port === undefined ? DEFAULT_UI_PORT : parsePort(values.port), allowRemote: values["allow-remote"] ?? false, url: uiBrokerUrl(values.url, io) }, io);
    default:
      if (rest.length > 0) throw new UsageError(`broker takes no arguments, got ${rest.map((arg) => JSON.stringify(arg)).join(" ")}`);
      return brokerCommand(
        {
          host: values.host ?? "127.0.0.1",
          port: parsePort(values.port),
          ...(values["ws-port"] === undefined ? {} : { wsPort: parsePort(values["ws-port"], "ws-port") }),
          ...(values["ws-origin"] === undefined ? {} : { wsOrigins: wsOrigins(values["ws-origin"], values["ws-port"]) }),
          ...(values.redis === undefined ? {} : { redis: values.redis }),
        },
        io,
      );
  }
}

function clientArgs(command: string, rest: string[], values: Values, io: CliIo): ClientArgs {
  const [prefix, method, params, ...extra] = rest;
  const wireFormat = values["wire-format"] ?? "jsonrpc";
  if (wireFormat !== "jsonrpc" && wireFormat !== "openmas") throw new UsageError(`--wire-format must be jsonrpc or openmas, got ${JSON.stringify(wireFormat)}`);
  if (values["openmas-topic-prefix"] !== undefined && wireFormat !== "openmas") throw new UsageError("--openmas-topic-prefix goes with --wire-format openmas");
  const first = wireFormat === "openmas" ? "<agent name>" : "<topic-prefix>";
  if (prefix === undefined || method === undefined) throw new UsageError(`${command} needs ${first} and <method>`);
  if (extra.length > 0) throw new UsageError(`${command} takes at most three arguments; quote the JSON params as one argument`);
  if (wireFormat === "jsonrpc") checkTarget(prefix, method);
  else checkAgentTarget(prefix, method);
  return {
    prefix,
    method,
    wireFormat,
    openmasTopicPrefix: values["openmas-topic-prefix"],
    params: parseParams(params),
    url: resolveUrl(values.url, io),
    connectTimeoutMs: parseMilliseconds("connect-timeout", values["connect-timeout"], DEFAULT_CONNECT_TIMEOUT_MS),
    connection: usage(() => connectionOptionsFromFlags(values, io.env, io.cwd)),
  };
}

function brokerArgs(values: Values, io: CliIo): BrokerArgs {
  return {
    url: resolveUrl(values.url, io),
    connectTimeoutMs: parseMilliseconds("connect-timeout", values["connect-timeout"], DEFAULT_CONNECT_TIMEOUT_MS),
    connection: usage(() => connectionOptionsFromFlags(values, io.env, io.cwd)),
    json: values.json ?? false,
  };
}

function serviceArgs(prefix: string, values: Values, io: CliIo): ServiceArgs {
  checkTarget(prefix, "rpc.discover");
  return { ...brokerArgs(values, io), prefix, timeoutMs: parseMilliseconds("timeout", values.timeout, DEFAULT_CALL_TIMEOUT_MS) };
}

/** A configuration problem in what the user typed is a usage error. */
function usage<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof ConfigurationError) throw new UsageError(error.message);
    throw error;
  }
}

/** `ui --url`, else `$MQTT_URL` when it is a WebSocket URL; the page connects over WebSocket only. */
function uiBrokerUrl(flag: string | undefined, io: CliIo): string | undefined {
  const url = flag ?? io.env.MQTT_URL;
  if (url === undefined || url === "") return undefined;
  const isWs = URL.canParse(url) && ["ws:", "wss:"].includes(new URL(url).protocol);
  if (isWs) return url;
  if (flag === undefined) return undefined; // an mqtt:// MQTT_URL is for the other commands
  throw new UsageError(`ui --url must be the broker's WebSocket URL (ws:// or wss://): a browser cannot speak MQTT over TCP; got ${JSON.stringify(redactUrl(url))}`);
}

function parsePort(text: string | undefined, flag = "port"): number {
  if (text === undefined) return DEFAULT_BROKER_PORT;
  const port = Number(text);
  if (!(/^\d+$/.test(text) && port <= 65_535)) throw new UsageError(`--${flag} must be a whole number from 0 to 65535, got ${JSON.stringify(text)}`);
  return port;
}

/** `--ws-origin` values: `*` or origins as browsers send them (`scheme://host[:port]`, no path). */
function wsOrigins(origins: string[], wsPort: string | undefined): string[] {
  if (wsPort === undefined) throw new UsageError("--ws-origin goes with --ws-port");
  for (const origin of origins) {
    if (origin === "*") continue;
    if (!URL.canParse(origin) || new URL(origin).origin !== origin) throw new UsageError(`--ws-origin must be * or an origin such as https://dash.example.com (scheme, host and port only), got ${JSON.stringify(origin)}`);
  }
  return origins;
}

/** Run `main` on the process's arguments and exit with its code once stdout and stderr are flushed. */
export async function runAsEntry(argv: readonly string[] = process.argv.slice(2)): Promise<never> {
  const code = await main(argv);
  await Promise.all([process.stdout, process.stderr].map((stream) => new Promise<void>((resolve) => stream.write("", () => resolve()))));
  process.exit(code);
}

function isEntry(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntry()) void runAsEntry();
