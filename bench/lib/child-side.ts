/** The child's half of the IPC protocol: report readiness, answer commands, die with the orchestrator. */
import { writeFileSync } from "node:fs";
import { getHeapStatistics } from "node:v8";
import type { ChildMessage, Command, HeapUsage, Usage } from "./messages.js";

type Handlers = { [K in Command["cmd"]]?: (command: Extract<Command, { cmd: K }>) => Promise<unknown> };

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected) return resolve();
    process.send!(message, undefined, {}, () => resolve());
  });
}

/** The process's peak RSS before the last `startPeakRssWindow`, KiB. */
let peakBeforeWindowKiB = 0;

/** Peak RSS of the whole process so far, KiB, across any windows. */
function processPeakRssKiB(): number {
  return Math.max(peakBeforeWindowKiB, process.resourceUsage().maxRSS);
}

/**
 * Start measuring the peak RSS of a period: Linux resets a process's peak ("high water mark") to its
 * current RSS when "5" is written to `/proc/self/clear_refs`, and `process.resourceUsage().maxRSS`
 * then reports the peak since. The whole-process peak is kept for `usage()`. Returns a function that
 * reads the period's peak, KiB, or undefined where the reset is not available.
 */
export function startPeakRssWindow(): () => number | undefined {
  const before = processPeakRssKiB();
  try {
    writeFileSync("/proc/self/clear_refs", "5");
  } catch {
    return () => undefined;
  }
  peakBeforeWindowKiB = before;
  return () => process.resourceUsage().maxRSS;
}

export function usage(): Usage {
  const cpu = process.cpuUsage();
  return { maxRssKiB: processPeakRssKiB(), cpuUs: cpu.user + cpu.system };
}

/**
 * The heap this process keeps alive: full collections until the used size stops falling (at most
 * five, a turn of the event loop apart so that finalizers and weak callbacks run), then its size.
 */
export async function liveHeap(): Promise<HeapUsage> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("the live heap needs node --expose-gc");
  let used = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 5; round++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
    const now = getHeapStatistics().used_heap_size;
    if (now >= used) break;
    used = now;
  }
  return { liveHeapKiB: used / 1024 };
}

/** Report a failure the orchestrator can show, then exit. */
export async function fail(error: unknown): Promise<never> {
  await send({ type: "fatal", error: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}

/**
 * Start with `start()`, report `ready`, then answer commands. `usage` is built in; `stop` runs
 * `close()` and exits, which also writes a `--cpu-prof` profile.
 */
export async function serve(start: () => Promise<Record<string, unknown> | void>, close: () => Promise<void>, handlers: Handlers = {}): Promise<void> {
  if (!process.send) throw new Error("run me from bench/run.ts: I need an IPC channel");
  process.on("uncaughtException", (error) => void fail(error));
  process.on("unhandledRejection", (error) => void fail(error));
  // The orchestrator died or gave up on us.
  process.on("disconnect", () => process.exit(2));
  try {
    const detail = await start();
    await send({ type: "ready", ...(detail ? { detail } : {}) });
  } catch (error) {
    await fail(error);
  }
  process.on("message", async (command: Command) => {
    try {
      let value: unknown;
      if (command.cmd === "usage") value = usage();
      else if (command.cmd === "heap") value = await liveHeap();
      else if (command.cmd === "stop") {
        await close();
        value = usage();
      } else {
        const handler = handlers[command.cmd] as ((command: Command) => Promise<unknown>) | undefined;
        if (handler === undefined) throw new Error(`this process does not do ${command.cmd}`);
        value = await handler(command);
      }
      await send({ type: "reply", seq: command.seq, ok: true, value });
    } catch (error) {
      await send({ type: "reply", seq: command.seq, ok: false, error: error instanceof Error ? error.message : String(error) });
    }
    if (command.cmd === "stop") process.exit(0);
  });
}
