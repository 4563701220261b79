import type { Logger } from "mqtt-contracts";

export interface LogLine {
  level: "debug" | "info" | "warn" | "error";
  message: string;
}

/** A logger that keeps what it is told, so tests can assert on warnings and debug lines. */
export function recordingLogger(): Logger & { lines: LogLine[]; find(level: LogLine["level"], pattern: RegExp): LogLine | undefined } {
  const lines: LogLine[] = [];
  const at = (level: LogLine["level"]) => (message: string) => void lines.push({ level, message });
  return {
    lines,
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    find: (level, pattern) => lines.find((line) => line.level === level && pattern.test(line.message)),
  };
}
