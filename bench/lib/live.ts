/**
 * The children a bench started and has not stopped yet, so that a failure or Ctrl-C leaves nothing running:
 * `bench/run.ts` and the streaming bench start theirs through `startLiveChild` and end with `stopLive`.
 */
import { startMosquitto } from "../../test/helpers/mosquitto.js";
import type { BrokerTarget } from "../peers/peer.js";
import { BUILD_DIR, compiledProcess } from "./build.js";
import { BenchChild } from "./child.js";

const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const children = new Set<BenchChild>();
/** A broker the bench started (Mosquitto, a NATS cluster). */
interface Closeable {
  close(): Promise<void>;
}
const brokers = new Set<Closeable>();

/** Start the compiled bench process `script` and keep it on the list until it exits. */
export async function startLiveChild(name: string, script: string, args: readonly string[], execArgv: readonly string[] = [], buildDir = BUILD_DIR): Promise<BenchChild> {
  const child = await BenchChild.start(name, compiledProcess(script, buildDir), args, { readyTimeoutMs: START_TIMEOUT_MS, execArgv });
  children.add(child);
  void child.exited.then(() => children.delete(child));
  return child;
}

/** Keep `broker` on the list; the function returned closes it and takes it off. */
export function liveBroker(broker: Closeable): () => Promise<void> {
  brokers.add(broker);
  return async () => {
    brokers.delete(broker);
    await broker.close();
  };
}

/** A broker the bench started, on the list until `stop()`. */
export interface LiveBroker<Kind extends string = "aedes" | "mosquitto"> {
  target: BrokerTarget & { broker: Kind };
  /** The broker's process, for its CPU time and RSS. */
  pid: number | undefined;
  stop(): Promise<void>;
}

/** aedes in a process of its own (bench/processes/aedes.ts), or a Mosquitto on a free port with `mosquittoConfig` lines. */
export async function startLiveBroker(kind: "aedes" | "mosquitto", options: { tcpNoDelay: boolean; mosquittoConfig?: string[] }): Promise<LiveBroker> {
  const { tcpNoDelay } = options;
  if (kind === "aedes") {
    const child = await startLiveChild("aedes broker", "aedes.ts", []);
    const port = child.detail.port as number;
    return {
      target: { broker: kind, url: `mqtt://127.0.0.1:${port}`, host: "127.0.0.1", port, protocolVersion: 4, qos: 1, tcpNoDelay },
      pid: child.pid,
      stop: async () => void (await child.stop(STOP_TIMEOUT_MS).catch(() => undefined)),
    };
  }
  const started = await startMosquitto(options.mosquittoConfig === undefined ? {} : { config: options.mosquittoConfig });
  return {
    target: { broker: kind, url: started.url, host: "127.0.0.1", port: started.port, protocolVersion: 5, qos: 1, tcpNoDelay },
    pid: started.pid,
    stop: liveBroker(started),
  };
}

/** Kill every child still running and close every broker still open. */
export async function stopLive(): Promise<void> {
  for (const child of children) child.kill();
  await Promise.all([...children].map((child) => child.exited));
  await Promise.all([...brokers].map((broker) => broker.close().catch(() => undefined)));
  brokers.clear();
}
