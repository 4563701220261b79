/** The orchestrator's half of the IPC protocol: a child process driven by commands, each with a timeout. */
import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import type { ChildMessage, Command } from "./messages.js";

export const repoRoot = resolve(import.meta.dirname, "..", "..");

/** How much of a child's stdout and stderr is kept for error messages. */
const TAIL_CHARS = 2_000;

type CommandBody = Command extends infer C ? (C extends Command ? Omit<C, "seq"> : never) : never;

interface Waiter {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export interface StartChildOptions {
  /** Node flags before the script, e.g. `--cpu-prof`. */
  execArgv?: readonly string[];
  /** How long the child may take to report `ready`. */
  readyTimeoutMs: number;
}

/**
 * A child process (compiled JS on plain Node, or `node --import tsx <script>` for .ts) with an IPC channel. Every wait has a
 * timeout; when the child dies or reports a fatal error, everything waiting on it rejects with the
 * reason and the tail of its output.
 */
export class BenchChild {
  private readonly waiters = new Map<number, Waiter>();
  private nextSeq = 0;
  private output = "";
  private failure: Error | undefined;
  readonly exited: Promise<void>;
  detail: Record<string, unknown> = {};

  private constructor(
    readonly name: string,
    private readonly process: ChildProcess,
  ) {
    const keep = (chunk: string) => (this.output = (this.output + chunk).slice(-TAIL_CHARS));
    process.stdout!.setEncoding("utf8").on("data", keep);
    process.stderr!.setEncoding("utf8").on("data", keep);
    process.on("message", (message: ChildMessage) => this.onMessage(message));
    this.exited = new Promise((resolve) => {
      process.once("exit", (code, signal) => {
        this.fail(new Error(`${name} exited (${signal ?? `code ${code}`})`));
        resolve();
      });
      // `on`, not `once`: a send on a closed channel also emits "error", and an unheard one would throw.
      process.on("error", (error) => {
        this.fail(new Error(`${name}: ${error.message}`));
        if (process.pid === undefined) resolve(); // never started, so no "exit" will come
      });
    });
  }

  /** Spawn `script` and wait for it to report `ready`. */
  static async start(name: string, script: string, args: readonly string[], options: StartChildOptions): Promise<BenchChild> {
    // Compiled children (.js, see bench/lib/build.ts) run on plain Node, as deployed code does.
    const loader = script.endsWith(".ts") ? ["--conditions=@mqtt-contracts/source", "--import", "tsx"] : [];
    const proc = spawn(process.execPath, [...loader, ...(options.execArgv ?? []), script, ...args], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      env: { ...process.env, MQTT_CONTRACTS_LOG_LEVEL: process.env.MQTT_CONTRACTS_LOG_LEVEL ?? "error" },
    });
    const child = new BenchChild(name, proc);
    try {
      await child.wait(-1, options.readyTimeoutMs, "to start");
    } catch (error) {
      child.kill();
      throw error;
    }
    return child;
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  /** Send a command and wait for its reply; on timeout the child is killed. */
  async request<T>(command: CommandBody, timeoutMs: number): Promise<T> {
    const seq = ++this.nextSeq;
    const reply = this.wait(seq, timeoutMs, `to answer ${command.cmd}`);
    if (this.failure === undefined) this.process.send({ ...command, seq } as Command);
    try {
      return (await reply) as T;
    } catch (error) {
      this.kill();
      throw error;
    }
  }

  /** Ask the child to close and exit; kill it if it does not within `timeoutMs`. Resolves with its last reply, if any. */
  async stop<T>(timeoutMs: number): Promise<T | undefined> {
    if (this.failure !== undefined) return undefined;
    try {
      const value = await this.request<T>({ cmd: "stop" }, timeoutMs);
      await Promise.race([this.exited, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
      return value;
    } finally {
      this.kill();
    }
  }

  kill(): void {
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill("SIGKILL");
  }

  private wait(seq: number, timeoutMs: number, what: string): Promise<unknown> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(seq);
        reject(new Error(`${this.name} took more than ${timeoutMs} ms ${what}${this.tail()}`));
      }, timeoutMs);
      this.waiters.set(seq, { resolve, reject, timer });
    });
  }

  private settle(seq: number, outcome: { value: unknown } | { error: Error }): void {
    const waiter = this.waiters.get(seq);
    if (waiter === undefined) return;
    this.waiters.delete(seq);
    clearTimeout(waiter.timer);
    if ("error" in outcome) waiter.reject(outcome.error);
    else waiter.resolve(outcome.value);
  }

  private onMessage(message: ChildMessage): void {
    switch (message.type) {
      case "ready":
        this.detail = message.detail ?? {};
        this.settle(-1, { value: undefined });
        return;
      case "reply":
        this.settle(message.seq, message.ok ? { value: message.value } : { error: new Error(`${this.name}: ${message.error}`) });
        return;
      case "fatal":
        this.fail(new Error(`${this.name}: ${message.error}`));
    }
  }

  private fail(error: Error): void {
    if (this.failure === undefined) this.failure = new Error(`${error.message}${this.tail()}`);
    for (const seq of [...this.waiters.keys()]) this.settle(seq, { error: this.failure });
  }

  private tail(): string {
    const text = this.output.trim();
    return text ? `\n  ${this.name} output: ${text.split("\n").slice(-6).join("\n  ")}` : "";
  }
}
