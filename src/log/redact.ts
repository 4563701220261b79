import type { createRequire as CreateRequire } from "node:module";
import { envVar, nodeBuiltin } from "../platform/runtime.js";

/** What replaces a secret in any text the runtime prints. */
export const REDACTED = "***";

/**
 * `text` with the password of every URL in it masked (`mqtt://alice:***@host`). For URLs from
 * configuration, echoed in errors and usage messages: they must never carry a credential to a log.
 */
export function redactUrl(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s/@:]*):[^\s/@]*@/gi, `$1:${REDACTED}@`);
}

/** Passwords (and other secrets) this process was configured with: only configuration adds to it. */
const secrets = new Set<string>();

/** `password: '…'` and `"password":"…"` as util.inspect and JSON print them, whatever the value. */
const PASSWORD_FIELD = /(\bpassword\b["']?\s*[:=]\s*)(<Buffer[^>]*>|'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s,}]+)/gi;

/** `text` with every known secret, every password field and every URL password masked. */
export function redactSecrets(text: string): string {
  let out = redactUrl(text).replace(PASSWORD_FIELD, `$1'${REDACTED}'`);
  for (const secret of secrets) if (secret.length >= 3 && out.includes(secret)) out = out.replaceAll(secret, REDACTED);
  return out;
}

let debugHooked = false;

/**
 * Remember `secret` and make sure mqtt.js's debug output (`DEBUG=mqttjs*`), which prints whole CONNECT
 * packets, cannot show it: the `debug` package copies that mqtt.js and mqtt-packet log through get a
 * `log` function that redacts each line before it reaches stderr. Nothing is loaded unless DEBUG is set.
 */
export function protectSecret(secret: string | undefined): void {
  if (secret !== undefined && secret !== "") secrets.add(secret);
  if (debugHooked || !envVar("DEBUG")) return;
  debugHooked = true;
  // Only Node has a DEBUG variable and the `debug` package's stderr output to guard.
  const createRequire = nodeBuiltin<{ createRequire: typeof CreateRequire }>("node:module")?.createRequire;
  if (createRequire === undefined) return;
  for (const debug of debugCopies(createRequire)) {
    const write = debug.log ?? ((...args: unknown[]) => process.stderr.write(`${args.map(String).join(" ")}\n`));
    debug.log = function redacted(this: unknown, ...args: unknown[]) {
      return write.apply(this, args.map((arg) => (typeof arg === "string" ? redactSecrets(arg) : arg)));
    };
  }
}

interface DebugModule {
  log?: (...args: unknown[]) => unknown;
}

/** The `debug` package as mqtt.js and mqtt-packet resolve it (one copy when npm deduplicated them). */
function debugCopies(createRequire: typeof CreateRequire): DebugModule[] {
  const copies = new Set<DebugModule>();
  const require = createRequire(import.meta.url);
  for (const from of ["mqtt", "mqtt-packet"]) {
    try {
      const owner = from === "mqtt" ? require.resolve("mqtt") : createRequire(require.resolve("mqtt")).resolve("mqtt-packet");
      copies.add(createRequire(owner)("debug") as DebugModule);
    } catch {
      // That package no longer logs through `debug`: nothing to hook.
    }
  }
  return [...copies];
}
