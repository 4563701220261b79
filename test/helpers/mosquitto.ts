import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect, createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface MosquittoOptions {
  /** Extra lines for the listener's config (auth, ACL, TLS...). */
  config?: string[];
  /** Default: a free port. */
  port?: number;
  /** Also listen for MQTT over WebSocket on another free port (`wsUrl`). */
  websockets?: boolean;
}

/** A real Mosquitto started by the test on its own port and config. */
export interface Mosquitto {
  readonly port: number;
  readonly url: string;
  /** With `websockets`: `ws://127.0.0.1:<port>`. */
  readonly wsUrl: string | undefined;
  readonly dir: string;
  /** The running broker's process id; undefined while it is stopped. */
  readonly pid: number | undefined;
  /** Stop the process (the port becomes free; the broker forgets everything). */
  stop(): Promise<void>;
  /** Kill the process with `signal` (default SIGKILL: no clean shutdown) and wait until it has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Start it again on the same port and config. */
  start(): Promise<void>;
  /** Stop and remove the temporary config. */
  close(): Promise<void>;
}

/** The mosquitto binary: `MOSQUITTO_BIN`, else Debian's /usr/sbin/mosquitto (often not on PATH), else PATH. */
export const mosquittoBin = process.env.MOSQUITTO_BIN ?? (existsSync("/usr/sbin/mosquitto") ? "/usr/sbin/mosquitto" : "mosquitto");

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startMosquitto(options: MosquittoOptions = {}): Promise<Mosquitto> {
  const port = options.port ?? (await freePort());
  const wsPort = options.websockets ? await freePort() : undefined;
  const wsListener = wsPort === undefined ? [] : [`listener ${wsPort} 127.0.0.1`, "protocol websockets"];
  const dir = await mkdtemp(join(tmpdir(), "mqtt-contracts-mosquitto-"));
  const configPath = join(dir, "mosquitto.conf");
  await writeFile(
    configPath,
    [`listener ${port} 127.0.0.1`, "allow_anonymous true", "persistence false", "set_tcp_nodelay true", "log_dest stderr", "log_type error", "log_type warning", ...(options.config ?? []), ...wsListener].join("\n") + "\n",
  );
  let child: ChildProcess | undefined;
  let stderr = "";

  const start = async () => {
    stderr = "";
    const proc = spawn(mosquittoBin, ["-c", configPath], { stdio: ["ignore", "ignore", "pipe"] });
    child = proc;
    proc.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<never>((_, reject) =>
      proc.once("exit", (code) => reject(new Error(`mosquitto exited with ${code} before accepting connections: ${stderr}`))),
    );
    exited.catch(() => undefined);
    await Promise.race([waitForPort(port, 10_000), exited]);
    if (wsPort !== undefined) await Promise.race([waitForPort(wsPort, 10_000), exited]);
  };
  const kill = async (signal: NodeJS.Signals) => {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    proc.kill(signal);
    await exited;
  };
  const stop = () => kill("SIGTERM");
  await start();
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    wsUrl: wsPort === undefined ? undefined : `ws://127.0.0.1:${wsPort}`,
    dir,
    get pid() {
      return child?.exitCode === null ? child.pid : undefined;
    },
    stop,
    kill: (signal = "SIGKILL") => kill(signal),
    start,
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Resolve once something accepts TCP connections on 127.0.0.1:`port`. */
export async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
