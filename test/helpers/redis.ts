import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./mosquitto.js";

/** A real redis-server started by the test on its own port and folder, never the system one on 6379. */
export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>`, or `redis://:<password>@127.0.0.1:<port>` when started with one. */
  readonly url: string;
  /** Run one command (after AUTH, if the server has a password) and return its reply as text: what `redis-cli` would print. */
  command(...args: string[]): Promise<string>;
  /** The running server's process id; undefined once it has stopped. */
  readonly pid: number | undefined;
  /** Stop exactly this process and remove its folder. */
  close(): Promise<void>;
}

/** The redis-server binary: `REDIS_SERVER_BIN`, else Debian's /usr/bin/redis-server, else PATH. */
export const redisServerBin = process.env.REDIS_SERVER_BIN ?? (existsSync("/usr/bin/redis-server") ? "/usr/bin/redis-server" : "redis-server");

export interface RedisOptions {
  /** Require this password (`requirepass`). Default: none. */
  password?: string;
  /** How long to wait for "Ready to accept connections". Default 20 000 ms. */
  timeoutMs?: number;
}

/**
 * Start redis-server on a free port on 127.0.0.1, with no persistence (nothing saved, no AOF) and its
 * working folder in a new temp dir. Resolves once it logs "Ready to accept connections".
 */
export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), "mqtt-contracts-redis-"));
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no", "--protected-mode", "yes"];
  if (options.password !== undefined) args.push("--requirepass", options.password);
  const proc: ChildProcess = spawn(redisServerBin, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const exited = new Promise<void>((resolve) => proc.once("close", () => resolve()));
  const close = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
    const killed = setTimeout(() => proc.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(killed);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server on port ${port} not ready within ${timeoutMs} ms:\n${output.slice(-3000)}`)), timeoutMs);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes("Ready to accept connections")) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout!.on("data", onData);
      proc.stderr!.on("data", onData);
      proc.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited (${proc.exitCode ?? proc.signalCode}) before accepting connections:\n${output.slice(-3000)}`));
      });
    });
  } catch (error) {
    await close();
    throw error;
  }
  const auth = options.password === undefined ? "" : `:${encodeURIComponent(options.password)}@`;
  return {
    port,
    url: `redis://${auth}127.0.0.1:${port}`,
    command: (...command) => redisCommand(port, options.password, command),
    get pid() {
      return proc.exitCode === null && proc.signalCode === null ? proc.pid : undefined;
    },
    close,
  };
}

/** One command over RESP on a fresh connection, preceded by AUTH when `password` is set. Simple, integer and bulk replies only (enough for CLIENT LIST, DBSIZE, GET); error replies reject. */
async function redisCommand(port: number, password: string | undefined, command: readonly string[]): Promise<string> {
  const encode = (args: readonly string[]) => `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join("")}`;
  const commands = password === undefined ? [command] : [["AUTH", password], command];
  const socket = connect(port, "127.0.0.1");
  try {
    const replies = await new Promise<string[]>((resolve, reject) => {
      let buffer = Buffer.alloc(0);
      socket.once("error", reject);
      socket.once("close", () => reject(new Error(`redis on ${port} closed the connection before answering ${command.join(" ")}`)));
      socket.on("data", (chunk: Buffer) => {
        buffer = Buffer.concat([buffer, chunk]);
        const parsed: string[] = [];
        let at = 0;
        while (at < buffer.length) {
          const end = buffer.indexOf("\r\n", at);
          if (end < 0) return;
          const line = buffer.toString("utf8", at, end);
          if (line.startsWith("$")) {
            const length = Number(line.slice(1));
            if (length < 0) {
              parsed.push("");
              at = end + 2;
              continue;
            }
            if (buffer.length < end + 2 + length + 2) return;
            parsed.push(buffer.toString("utf8", end + 2, end + 2 + length));
            at = end + 2 + length + 2;
          } else if (line.startsWith("-")) {
            reject(new Error(`redis: ${line.slice(1)}`));
            return;
          } else {
            parsed.push(line.slice(1)); // +simple string or :integer
            at = end + 2;
          }
        }
        if (parsed.length >= commands.length) resolve(parsed);
      });
      socket.write(commands.map(encode).join(""));
    });
    return replies[replies.length - 1]!;
  } finally {
    socket.destroy();
  }
}
