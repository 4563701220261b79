import { envVar } from "./platform/runtime.js";

/** The logging interface the runtime writes to. Compatible with `console` and with pino-style loggers. */
export interface Logger {
  debug(message: string, meta?: Record<string, unknown>): void;
  info(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
}

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

function isLogLevel(value: string | undefined): value is LogLevel {
  return value !== undefined && value in rank;
}

/**
 * A logger that writes to stderr, prefixed with `name`. The level defaults to the
 * `MQTT_CONTRACTS_LOG_LEVEL` environment variable, or `warn`.
 */
export function createConsoleLogger(name: string, level?: LogLevel): Logger {
  const envLevel = envVar("MQTT_CONTRACTS_LOG_LEVEL");
  const min = rank[level ?? (isLogLevel(envLevel) ? envLevel : "warn")];
  const write = (lvl: Exclude<LogLevel, "silent">) => (message: string, meta?: Record<string, unknown>) => {
    if (rank[lvl] < min) return;
    const line = `[${name}] ${lvl}: ${message}`;
    if (meta === undefined) console.error(line);
    else console.error(line, meta);
  };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}
