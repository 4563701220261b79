import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { ConfigurationError } from "../errors/errors.js";
import type { MqttCommunicatorOptions } from "../mqtt/mqtt-options.js";

/**
 * The connection flags of the `mqtt-contracts` CLI, as `node:util` `parseArgs` options, for agents and
 * tools that want the same command line: `--username`, `--password`, `--ca`, `--cert`, `--key`,
 * `--insecure` and `--protocol 5|3.1.1|auto`.
 */
export const connectionFlagOptions = {
  username: { type: "string" },
  password: { type: "string" },
  ca: { type: "string" },
  cert: { type: "string" },
  key: { type: "string" },
  insecure: { type: "boolean" },
  protocol: { type: "string" },
} as const;

/** The values of those flags, as `parseArgs` returns them. */
export interface ConnectionFlags {
  username?: string | undefined;
  password?: string | undefined;
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  insecure?: boolean | undefined;
  protocol?: string | undefined;
}

const PROTOCOLS: Record<string, 5 | 4 | "auto"> = { "5": 5, "3.1.1": 4, "4": 4, auto: "auto" };

/**
 * `mqtt` communicator options from connection flags: credentials from `--username`/`--password`, else
 * `MQTT_USERNAME`/`MQTT_PASSWORD` in `env` (which, unlike a flag, does not show in the process list); the
 * PEM files of `--ca`, `--cert` and `--key`, read now (relative to `cwd`); `--insecure` and `--protocol`.
 * Throws a `ConfigurationError` naming the flag for a file that cannot be read or an unknown protocol.
 */
export function connectionOptionsFromFlags(flags: ConnectionFlags, env: Readonly<Record<string, string | undefined>> = process.env, cwd = process.cwd()): Partial<MqttCommunicatorOptions> {
  const options: Partial<MqttCommunicatorOptions> = {};
  const username = flags.username ?? (env.MQTT_USERNAME || undefined);
  const password = flags.password ?? (env.MQTT_PASSWORD || undefined);
  if (username !== undefined) options.username = username;
  if (password !== undefined) options.password = password;
  for (const flag of ["ca", "cert", "key"] as const) {
    const path = flags[flag];
    if (path === undefined) continue;
    try {
      options[flag] = readFileSync(resolve(cwd, path));
    } catch (error) {
      throw new ConfigurationError(`--${flag}: cannot read ${JSON.stringify(path)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  if (flags.insecure) options.rejectUnauthorized = false;
  if (flags.protocol !== undefined) {
    const protocol = PROTOCOLS[flags.protocol];
    if (protocol === undefined) throw new ConfigurationError(`--protocol must be 5, 3.1.1 or auto, got ${JSON.stringify(flags.protocol)}`);
    options.protocolVersion = protocol;
  }
  return options;
}
