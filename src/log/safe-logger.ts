import type { Logger } from "../logger.js";

/** The longest log line the runtime writes; what a peer sends cannot make one longer. */
export const MAX_LOG_LINE = 2_000;

/** C0 and C1 controls, the line and paragraph separators, and bidirectional overrides: what can forge or hide log lines. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * `text` made safe for a log line: control characters escaped (`\\n`, `\\u001b`), so a peer cannot start a
 * new line or send a terminal escape sequence, and cut to `max` characters with a note of what was cut.
 */
export function escapeForLog(text: string, max = MAX_LOG_LINE): string {
  const escaped = text.replace(UNSAFE, (c) => (c === "\n" ? "\\n" : c === "\r" ? "\\r" : c === "\t" ? "\\t" : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`));
  return escaped.length > max ? `${escaped.slice(0, max)}… (${escaped.length - max} more characters)` : escaped;
}

/**
 * A logger whose every message is escaped and bounded (`escapeForLog`) before it reaches `logger`. The
 * runtime's own messages quote values from the network (topics, methods, ids, parse errors), so this
 * is where all of them are made safe at once, whatever logger the user plugged in.
 */
export function safeLogger(logger: Logger): Logger {
  if ((logger as { [SAFE]?: true })[SAFE]) return logger;
  const wrap = (write: Logger["debug"]) => (message: string, meta?: Record<string, unknown>) => {
    const line = escapeForLog(message);
    if (meta === undefined) write.call(logger, line);
    else write.call(logger, line, meta);
  };
  return { debug: wrap(logger.debug), info: wrap(logger.info), warn: wrap(logger.warn), error: wrap(logger.error), [SAFE]: true } as Logger;
}

const SAFE = Symbol("mqtt-contracts.safe-logger");
